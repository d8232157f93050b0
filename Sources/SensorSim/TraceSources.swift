public import Traces
public import TwitchCore

/// Feeds a simulated chip from a trace file (any format ``TraceReader`` reads), one row per tick.
/// Ends at the end of the file (or at the first unreadable row, whose error is kept in ``error``).
public final class TraceSampleSource: SampleSource {
    private var reader: TraceReader
    /// Rows handed out so far.
    public private(set) var count = 0
    /// The error that ended the trace early, if any.
    public private(set) var error: TraceError?

    public init(reader: TraceReader) { self.reader = reader }

    /// Opens `path`.
    public convenience init(path: String) throws(TraceError) {
        self.init(reader: try TraceReader(path: path))
    }

    public func nextAcceleration() -> Vector3? {
        do {
            guard let s = try reader.next() else { return nil }
            count += 1
            return s.acceleration
        } catch {
            self.error = error
            return nil
        }
    }
}

/// Feeds a simulated chip from the synthetic limb of ``TraceSimulator`` (twitches, tremor,
/// heartbeat, movement), one simulated sample per tick.
public final class SimulatorSampleSource: SampleSource {
    private var simulator: TraceSimulator

    public init(simulator: TraceSimulator) { self.simulator = simulator }

    /// What the simulator has produced so far (twitches and segments).
    public var labels: TraceLabels { simulator.labels }

    public func nextAcceleration() -> Vector3? { simulator.next()?.acceleration }
}
