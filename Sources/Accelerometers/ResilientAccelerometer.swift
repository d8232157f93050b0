public import SensorBus

/// What the sensor did, for the daemon to log.
public enum SensorEvent: Sendable, Equatable, CustomStringConvertible {
    /// The sensor was identified, configured and started.
    case connected(ChipConfiguration)
    /// The sensor stopped answering (or stalled); samples are being lost until ``back``.
    case lost(reason: String)
    /// The sensor answers again and was re-probed and re-configured after `outageNs`;
    /// `lostSamples` is the outage at the measured rate.
    case back(outageNs: UInt64, lostSamples: Int)
    /// The FIFO overran and was flushed; `lostSamples` samples are gone.
    case overrun(lostSamples: Int)

    public var description: String {
        switch self {
        case .connected(let c): return "sensor connected: \(c)"
        case .lost(let r): return "sensor lost: \(r)"
        case .back(let ns, let n):
            return "sensor back after \(ns / 1_000_000) ms (\(n) samples lost)"
        case .overrun(let n): return "FIFO overrun: \(n) samples lost"
        }
    }
}

/// The result of one ``ResilientAccelerometer/read(into:)``.
public struct ResilientReadResult: Sendable, Equatable {
    /// Samples written to the front of the buffer.
    public var count: Int
    /// Samples lost (overrun, or an outage that just ended).
    public var lost: Int
    /// Something the daemon should report, if anything happened.
    public var event: SensorEvent?
}

/// Retry/backoff policy for bus errors and outages.
public struct Backoff: Sendable, Equatable {
    /// Immediate retries of a failed read before the sensor is declared lost.
    public var retries: Int
    /// First delay (doubling per attempt) and the longest delay, in ns.
    public var initialNs: UInt64
    public var maximumNs: UInt64

    public init(retries: Int = 3, initialNs: UInt64 = 2_000_000, maximumNs: UInt64 = 1_000_000_000) {
        self.retries = retries
        self.initialNs = initialNs
        self.maximumNs = maximumNs
    }

    public static let `default` = Backoff()
}

/// An ``Accelerometer`` that never throws: transient bus errors are retried with backoff; when
/// the sensor vanishes it is re-probed (ID register) and re-configured when it returns, and the
/// outage is reported as ``SensorEvent/lost(reason:)`` then ``SensorEvent/back(outageNs:lostSamples:)``.
public final class ResilientAccelerometer {
    public let bus: any SensorBus
    public let selection: ChipSelection
    public let settings: AccelerometerSettings
    public let interrupt: (any InterruptLine)?
    public let time: any TimeSource
    public let backoff: Backoff

    /// The engine, once the chip has been identified.
    public private(set) var engine: Accelerometer?
    /// Whether the sensor is streaming now.
    public private(set) var isConnected = false
    /// Outages since creation.
    public private(set) var outages = 0
    /// The last error seen, for status displays.
    public private(set) var lastError: AccelerometerError?

    private var outageStartNs: UInt64 = 0
    private var everConnected = false
    private var reportedFirstFailure = false
    private var delayNs: UInt64
    private var nextAttemptNs: UInt64 = 0

    public init(
        bus: any SensorBus, chip: ChipSelection, settings: AccelerometerSettings = .default,
        interrupt: (any InterruptLine)? = nil, time: any TimeSource, backoff: Backoff = .default
    ) {
        self.bus = bus
        self.selection = chip
        self.settings = settings
        self.interrupt = interrupt
        self.time = time
        self.backoff = backoff
        self.delayNs = backoff.initialNs
    }

    /// The measured output rate, or the nominal one before any samples (0 before the chip is known).
    public var measuredRate: Double { engine?.measuredRate ?? 0 }
    /// The configuration applied, once known.
    public var configuration: ChipConfiguration? { engine?.configuration }

    /// Reads samples, or tries to (re)connect. Returns after one batch, one timed-out wait, or one
    /// connection attempt (sleeping the backoff first), so the caller can check for shutdown.
    public func read(into buffer: UnsafeMutableBufferPointer<TimedSample>) -> ResilientReadResult {
        if !isConnected { return connect() }
        guard let engine else { return connect() }
        var attempt = 0
        var delay = backoff.initialNs
        while true {
            do {
                let r = try engine.read(into: buffer)
                return ResilientReadResult(
                    count: r.count, lost: r.lost, event: r.overrun ? .overrun(lostSamples: r.lost) : nil)
            } catch {
                lastError = error
                if case .stalled = error {
                    return declareLost(error)
                }
                guard error.isRecoverable, attempt < backoff.retries else { return declareLost(error) }
                attempt += 1
                time.sleep(nanoseconds: delay)
                delay = min(delay * 2, backoff.maximumNs)
            }
        }
    }

    /// Puts the chip in standby, if it answers.
    public func standby() {
        try? engine?.standby()
        isConnected = false
    }

    private func declareLost(_ error: AccelerometerError) -> ResilientReadResult {
        isConnected = false
        outages += 1
        outageStartNs = time.monotonicNanoseconds()
        delayNs = backoff.initialNs
        nextAttemptNs = outageStartNs
        return ResilientReadResult(count: 0, lost: 0, event: .lost(reason: error.description))
    }

    private func connect() -> ResilientReadResult {
        let now = time.monotonicNanoseconds()
        if nextAttemptNs > now { time.sleep(nanoseconds: nextAttemptNs - now) }
        do {
            let e: Accelerometer
            if let existing = engine {
                e = existing
            } else {
                e = try Accelerometer(
                    bus: bus, chip: selection, settings: settings, interrupt: interrupt, time: time)
            }
            try e.start()  // checks the ID register first, then configures in standby
            engine = e
            isConnected = true
            delayNs = backoff.initialNs
            lastError = nil
            if !everConnected {
                everConnected = true
                return ResilientReadResult(count: 0, lost: 0, event: .connected(e.configuration))
            }
            let outage = time.monotonicNanoseconds() &- outageStartNs
            let lost = Int((Double(outage) * 1e-9 * e.measuredRate).rounded())
            return ResilientReadResult(
                count: 0, lost: lost, event: .back(outageNs: outage, lostSamples: lost))
        } catch {
            lastError = error
            nextAttemptNs = time.monotonicNanoseconds() &+ delayNs
            delayNs = min(delayNs * 2, backoff.maximumNs)
            if !everConnected && !reportedFirstFailure {
                // Say once that the sensor is not there yet; keep trying quietly.
                reportedFirstFailure = true
                outageStartNs = now
                return ResilientReadResult(count: 0, lost: 0, event: .lost(reason: error.description))
            }
            return ResilientReadResult(count: 0, lost: 0, event: nil)
        }
    }
}
