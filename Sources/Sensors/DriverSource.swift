import Accelerometers
import Daemon
import SensorBus
import TwitchCore

/// A sensor read through its chip driver: the drivers' ``ResilientAccelerometer`` (retries,
/// re-probing after an outage, overrun accounting) on a real I2C bus (`/dev/i2c-N`, data-ready on
/// a GPIO line or polled) or on a simulated one (`sim:CHIP`: a register-level chip model fed by a
/// trace file or the Traces simulator, on the real clock or a sped-up one).
final class DriverSource: SampleSource {
    /// `i2c-1/0x53 adxl345`, `sim/adxl355`: the `TWITCH_SENSOR` value.
    let name: String
    private(set) var sampleRate: Double
    private let sensor: ResilientAccelerometer
    private let timed: UnsafeMutableBufferPointer<TimedSample>
    private var lostReported = false
    /// For a simulated chip playing a trace: whether the trace is used up.
    private let exhausted: (() -> Bool)?
    private var endReported = false
    /// Keeps the bus, clock and feed alive as long as the driver uses them.
    private let opened: OpenedSensor

    init(opened: OpenedSensor, nominalRate: Double, exhausted: (() -> Bool)? = nil) {
        self.exhausted = exhausted
        self.opened = opened
        self.name = opened.name
        self.sampleRate = nominalRate
        self.sensor = opened.sensor
        timed = .allocate(capacity: 512)
        timed.initialize(repeating: .zero)
    }

    deinit { timed.deallocate() }

    func start() throws(SourceError) {}

    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        if endReported {
            SystemTime.shared.sleep(nanoseconds: 100_000_000)
            return SourceRead(count: 0)
        }
        let n = min(buffer.count, timed.count)
        let r = sensor.read(into: UnsafeMutableBufferPointer(rebasing: timed[0..<n]))
        for i in 0..<r.count {
            let s = timed[i]
            buffer[i] = AcquiredSample(
                monotonicNs: s.monotonicNs, realtimeNs: s.realtimeNs, x: s.acceleration.x,
                y: s.acceleration.y,
                z: s.acceleration.z)
        }
        var result = SourceRead(count: r.count, lost: r.lost)
        if r.count == 0, let exhausted, exhausted() {
            // The trace is played out: stop quietly (no "sensor lost" for a finished recording).
            endReported = true
            result.note = "\(name): trace played to the end"
            return result
        }
        switch r.event {
        case .connected(let configuration)?:
            sampleRate = configuration.rateHz
            result.note = "\(name): \(configuration)"
            if lostReported {
                lostReported = false
                result.health = .back
            }
        case .lost(let reason)?:
            lostReported = true
            result.health = .lost(reason: reason)
        case .back?:
            lostReported = false
            result.health = .back
        case .overrun?, nil:
            break
        }
        return result
    }

    func standby() { sensor.standby() }
}

/// A virtual clock paced `speed` times faster than real time, for playing simulated sensors
/// quickly in tests: time advances only when the acquisition thread waits (so the driver never
/// misses a FIFO deadline because the test machine is busy), and each wait also sleeps
/// `1/speed` of its length for real. Used by the acquisition thread only.
final class PacedClock: TimeSource, @unchecked Sendable {
    let speed: Double
    private let startMono: UInt64
    private let startReal: Int64
    private var now: UInt64

    init(speed: Double) {
        self.speed = speed
        startMono = SystemTime.shared.monotonicNanoseconds()
        startReal = SystemTime.shared.realtimeNanoseconds()
        now = startMono
    }

    func monotonicNanoseconds() -> UInt64 { now }

    func realtimeNanoseconds() -> Int64 { startReal &+ Int64(now &- startMono) }

    func sleep(nanoseconds: UInt64) {
        now &+= nanoseconds
        SystemTime.shared.sleep(nanoseconds: UInt64(Double(nanoseconds) / speed))
    }
}
