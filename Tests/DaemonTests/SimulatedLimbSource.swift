import Foundation
import Sensors
import Traces
import TwitchCore

@testable import Daemon

/// A `sim:` sensor fed straight from the Traces module: the trace simulator (a limb at rest with
/// twitches, tremor and the occasional movement) or a trace file, paced in real time (or `speed`
/// times faster) and delivered in FIFO-sized bursts like a chip with a watermark interrupt.
///
/// A test double for the pipeline tests: the same timing behaviour as a chip with a watermark
/// interrupt, without the register round trip. `twitchd run` and `demo` never use it: their
/// `sim:` sensors are register-level simulated chips read by the real drivers.
final class SimulatedLimbSource: SampleSource {
    let name: String
    let sampleRate: Double
    // Exactly one of the two feeds; mutated in place (no copy per sample).
    private var simulator: TraceSimulator?
    private var reader: TraceReader?
    private let speed: Double
    private let burst: Int
    private var pending: Sample?
    private var firstTime: Double?
    private var startMono: UInt64 = 0
    private var startReal: Int64 = 0
    private var ended = false

    init(sensor: SensorConfiguration) throws(SourceError) {
        speed = sensor.speed
        if let path = sensor.trace {
            do {
                let opened = try TraceReader(path: path)
                sampleRate = opened.sampleRate
                reader = opened
            } catch {
                throw SourceError("trace \(path): \(error)", transient: false)
            }
            name = "\(sensor.bus) playing \((path as NSString).lastPathComponent)"
        } else {
            var c = SimulationConfiguration()
            c.seed = sensor.seed ?? 1
            c.duration = nil
            c.rate = sensor.rate
            let chip = String(sensor.bus.dropFirst(4))
            c.sensor = ChipRegistry.named(chip)?.noise ?? .adxl355
            c.location = sensor.location
            if let v = sensor.twitchesPerMinute { c.twitchesPerMinute = v }
            if let v = sensor.episodesPerHour { c.episodesPerHour = v }
            do {
                let sim = try TraceSimulator(configuration: c)
                sampleRate = sim.trueRate
                simulator = sim
            } catch {
                throw SourceError("simulator: \(error.description)", transient: false)
            }
            name = "\(sensor.bus) simulated limb (seed \(c.seed))"
        }
        burst = max(1, Int((sampleRate / 25).rounded()))
    }

    func start() throws(SourceError) {
        startMono = monotonicNow()
        startReal = realtimeNow()
    }

    private func nextSample() throws(SourceError) -> Sample? {
        if let p = pending {
            pending = nil
            return p
        }
        if simulator != nil { return simulator?.next() }
        do {
            return try reader?.next()
        } catch {
            throw SourceError("trace: \(error)", transient: false)
        }
    }

    /// When (CLOCK_MONOTONIC ns) a sample of trace time `t` is due.
    private func due(_ t: Double) -> UInt64 {
        startMono &+ UInt64(max(0, (t - (firstTime ?? t)) / speed * 1e9))
    }

    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        if ended {
            sleepNanoseconds(100_000_000)
            return SourceRead(count: 0)
        }
        // The chip raises its watermark interrupt once `burst` samples are in the FIFO.
        guard let first = try nextSample() else {
            ended = true
            return SourceRead(count: 0)
        }
        if firstTime == nil { firstTime = first.time }
        pending = first
        let lastDue = due(first.time + Double(burst - 1) / sampleRate)
        let now = monotonicNow()
        if lastDue > now {
            sleepNanoseconds(min(lastDue - now, 100_000_000))
        }
        let limit = monotonicNow()
        var n = 0
        while n < buffer.count, let s = try nextSample() {
            let d = due(s.time)
            if d > limit {
                pending = s
                break
            }
            // Live (speed 1): the real clock. Faster: the trace's own clock, so the detector
            // still sees the true sample spacing.
            let mono = speed == 1 ? d : startMono &+ UInt64(max(0, (s.time - (firstTime ?? 0)) * 1e9))
            buffer[n] = AcquiredSample(
                monotonicNs: mono, realtimeNs: startReal &+ Int64(mono &- startMono),
                x: s.acceleration.x, y: s.acceleration.y, z: s.acceleration.z)
            n += 1
        }
        return SourceRead(count: n)
    }

    func standby() {}
}

/// Builds sources with what is available in this build.
extension SourceFactories {
    /// `sim:CHIP` sensors as a register-free simulated limb (Traces simulator or a trace file).
    static let simulated: SourceFactory = { sensor throws(SourceError) in
        guard sensor.isSimulated else {
            throw SourceError("the register-free test source serves sim: sensors only", transient: false)
        }
        return try SimulatedLimbSource(sensor: sensor)
    }
}
