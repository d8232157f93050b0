import Accelerometers
import GPIO
import SensorBus
import SensorSim
import Traces
import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A sensor read through its chip driver: the drivers' ``ResilientAccelerometer`` (retries,
/// re-probing after an outage, overrun accounting) on a real I2C bus (`/dev/i2c-N`, data-ready on
/// a GPIO line or polled) or on a simulated one (`sim:CHIP`: a register-level chip model fed by a
/// trace file or the Traces simulator, on the real clock or a sped-up one).
final class DriverSource: SampleSource {
    let name: String
    private(set) var sampleRate: Double
    private let sensor: ResilientAccelerometer
    private let timed: UnsafeMutableBufferPointer<TimedSample>
    private var lostReported = false
    /// For a simulated chip playing a trace: whether the trace is used up.
    private let exhausted: (() -> Bool)?
    private var endReported = false
    /// Keeps the bus, clock and feed alive as long as the driver uses them.
    private let keepAlive: [AnyObject]

    init(
        name: String, nominalRate: Double, sensor: ResilientAccelerometer, keepAlive: [AnyObject] = [],
        exhausted: (() -> Bool)? = nil
    ) {
        self.exhausted = exhausted
        self.name = name
        self.sampleRate = nominalRate
        self.sensor = sensor
        self.keepAlive = keepAlive
        timed = .allocate(capacity: 512)
        timed.initialize(repeating: .zero)
    }

    deinit { timed.deallocate() }

    func start() throws(SourceError) {}

    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        if endReported {
            sleepNanoseconds(100_000_000)
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
            result.note = "\(sensor.bus.name): \(configuration)"
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
        startMono = monotonicNow()
        startReal = realtimeNow()
        now = startMono
    }

    func monotonicNanoseconds() -> UInt64 { now }

    func realtimeNanoseconds() -> Int64 { startReal &+ Int64(now &- startMono) }

    func sleep(nanoseconds: UInt64) {
        now &+= nanoseconds
        sleepNanoseconds(UInt64(Double(nanoseconds) / speed))
    }
}

/// Ways to turn a configured sensor into a ``SampleSource``.
public enum SourceFactories {
    /// Every sensor through its chip driver: `/dev/i2c-N` buses with the Linux adapter (and a
    /// GPIO data-ready line when `interrupt` is set), `sim:CHIP` buses with a simulated chip.
    public static let drivers: SourceFactory = { sensor throws(SourceError) in
        let chip: ChipSelection
        if sensor.chip == .auto {
            chip = .auto
        } else if let kind = ChipKind(rawValue: sensor.chip.rawValue) {
            chip = .chip(kind)
        } else {
            throw SourceError("no driver for \(sensor.chip.rawValue) in this build", transient: false)
        }
        let settings = AccelerometerSettings(rateHz: sensor.rate, rangeG: Double(sensor.rangeG))
        if sensor.isSimulated {
            return try simulated(sensor, chip: chip, settings: settings)
        }
        let adapter: LinuxI2CAdapter
        do {
            adapter = try LinuxI2CAdapter(path: sensor.bus)
        } catch {
            // A missing adapter may appear (i2c-dev loaded later, a USB adapter plugged in).
            throw SourceError("\(error)", transient: (error as? BusError)?.kind == .noSuchBus)
        }
        let address: UInt8
        switch sensor.address {
        case .fixed(let a):
            address = a
        case .auto:
            let found = Accelerometer.probe(adapter: adapter).first { r in
                guard let kind = r.chip else { return false }
                if case .chip(let wanted) = chip { return kind == wanted }
                return true
            }
            guard let found else {
                throw SourceError(
                    "no supported accelerometer answers on \(sensor.bus) (try `twitchd probe --bus \(sensor.bus)`)",
                    transient: true)
            }
            address = found.address
        }
        let device: any SensorBus
        do {
            device = try adapter.device(at: address)
        } catch {
            throw SourceError("\(error)", transient: (error as? BusError)?.isTransient ?? false)
        }
        var line: (any InterruptLine)?
        if let interrupt = sensor.interrupt {
            do {
                line = try GPIODataReadyLine(try GPIOLineSpec(parsing: interrupt))
            } catch {
                throw SourceError("interrupt \(interrupt): \(error)", transient: false)
            }
        }
        let driver = ResilientAccelerometer(
            bus: device, chip: chip, settings: settings, interrupt: line, time: SystemTime.shared)
        return DriverSource(name: device.name, nominalRate: sensor.rate, sensor: driver, keepAlive: [adapter])
    }

    private static func simulated(
        _ sensor: SensorConfiguration, chip: ChipSelection, settings: AccelerometerSettings
    ) throws(SourceError) -> any SampleSource {
        let feed: any SensorSim.SampleSource
        var settings = settings
        var oscillatorError = 0.025
        var rate = sensor.rate
        if let path = sensor.trace {
            // A trace plays at its own rate on an exact oscillator, so the driver delivers the
            // trace's samples on the trace's timeline (as `twitchd replay` reads them).
            do {
                let reader = try TraceReader(path: path)
                rate = reader.sampleRate
                feed = TraceSampleSource(reader: reader)
            } catch {
                throw SourceError("trace \(path): \(error)", transient: false)
            }
            settings.rateHz = rate
            oscillatorError = 0
        } else {
            var c = SimulationConfiguration()
            c.seed = sensor.seed ?? 1
            c.duration = nil
            c.rate = sensor.rate
            c.sensor = SensorModel.named(String(sensor.bus.dropFirst(4))) ?? .adxl355
            c.oscillatorError = 0  // the chip model has its own oscillator error
            c.location = sensor.location
            if let v = sensor.twitchesPerMinute { c.twitchesPerMinute = v }
            if let v = sensor.episodesPerHour { c.episodesPerHour = v }
            do {
                feed = SimulatorSampleSource(simulator: try TraceSimulator(configuration: c))
            } catch {
                throw SourceError("simulator: \(error.description)", transient: false)
            }
        }
        let clock: any TimeSource = sensor.speed == 1 ? SystemTime.shared : PacedClock(speed: sensor.speed)
        var spec = sensor.bus
        if case .fixed(let a) = sensor.address { spec += "@0x" + String(a, radix: 16) }
        guard
            let adapter = SimulatedAdapter(
                spec: spec, source: feed, time: clock, oscillatorError: oscillatorError)
        else {
            throw SourceError(
                "unknown simulated bus \(sensor.bus): use sim:adxl345, sim:lis3dh, sim:mpu6050 or sim:adxl355",
                transient: false)
        }
        guard let model = adapter.chips.first else {
            throw SourceError("simulated bus \(sensor.bus) has no chip", transient: false)
        }
        let driver = ResilientAccelerometer(
            bus: model, chip: chip, settings: settings, interrupt: model.interruptLine, time: clock)
        return DriverSource(
            name: "\(model.name) (simulated)", nominalRate: rate, sensor: driver,
            keepAlive: [adapter, feed], exhausted: sensor.trace == nil ? nil : { model.sourceExhausted })
    }
}
