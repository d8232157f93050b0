public import Accelerometers
import GPIO
public import SensorBus
public import SensorSim
import Traces
public import TwitchCore

/// Why a bus or sensor could not be opened, with the exit status the command line maps it to.
public struct SensorOpenError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var exit: SysExit
    /// Whether trying again later may help (a bus error that comes and goes).
    public var isTransient: Bool

    public init(_ description: String, exit: SysExit, transient: Bool = false) {
        self.description = description
        self.exit = exit
        self.isTransient = transient
    }

    /// The exit status for a bus error.
    public static func exit(for e: BusError) -> SysExit {
        switch e.kind {
        case .permissionDenied: return .noPerm
        case .noSuchBus, .deviceGone, .addressNotAcknowledged, .unsupported: return .unavailable
        default: return .ioErr
        }
    }
}

/// How a simulated bus keeps time.
public enum SimulatedClock: Sendable, Equatable {
    /// The real clock: the chip produces samples in real time.
    case real
    /// A virtual clock: as fast as the CPU allows (probe, `record --fast`).
    case virtual
    /// A virtual clock paced `speed` times faster than real time (tests, `speed =`).
    case paced(Double)
}

/// A bus opened from a `bus` setting or `--bus` argument: `/dev/i2c-N` with the Linux adapter, or
/// `sim:CHIP[@ADDR]`, a simulated bus holding one register-level chip model.
public struct OpenedBus {
    public var adapter: any BusAdapter
    public var time: any TimeSource
    /// The simulated chip, when the bus is `sim:`.
    public var simulated: SimulatedChip?
    /// `N` of `/dev/i2c-N`, for hints such as `i2cdetect -y N`.
    public var busNumber: Int?

    /// Opens `spec`. A simulated bus keeps time by `clock` and is fed by `feed` (default: a limb
    /// at rest).
    public init(
        spec: String, clock: SimulatedClock = .virtual, feed: (any SensorSim.SampleSource)? = nil,
        oscillatorError: Double = 0.025
    ) throws(SensorOpenError) {
        if BusName.isSimulated(spec) {
            let time: any TimeSource
            switch clock {
            case .real: time = SystemTime.shared
            case .virtual: time = VirtualClock()
            case .paced(let speed): time = speed == 1 ? SystemTime.shared : PacedClock(speed: speed)
            }
            guard
                let a = ChipRegistry.simulatedAdapter(
                    spec: spec, source: feed ?? RestingSource(), time: time, oscillatorError: oscillatorError)
            else {
                throw SensorOpenError(
                    "unknown simulated bus '\(spec)': use \(ChipRegistry.simulatedBusList) (optionally @ADDR)",
                    exit: .usage)
            }
            adapter = a
            self.time = time
            simulated = a.chips.first
            busNumber = nil
            return
        }
        do {
            adapter = try LinuxI2CAdapter(path: spec)
        } catch {
            // A missing adapter may appear (i2c-dev loaded later, a USB adapter plugged in).
            throw SensorOpenError(
                error.description, exit: SensorOpenError.exit(for: error), transient: error.kind == .noSuchBus
            )
        }
        time = SystemTime.shared
        simulated = nil
        busNumber = Int(spec.split(separator: "-").last ?? "")
    }
}

/// What to open: a bus, where on it, which chip, how to drive it.
public struct SensorRequest {
    /// `/dev/i2c-N` or `sim:CHIP[@ADDR]`.
    public var bus: String
    /// The 7-bit address, or nil for the first supported chip that answers.
    public var address: UInt8?
    /// The chip, or nil to identify it by its ID register.
    public var chip: ChipKind?
    public var settings: AccelerometerSettings
    /// A data-ready GPIO line (`GPIO17`, `gpiochip0:17`); nil polls. A simulated chip always
    /// uses its own INT1 line.
    public var interrupt: String?
    /// How a simulated bus keeps time.
    public var clock: SimulatedClock
    /// What feeds a simulated chip (default: a limb at rest).
    public var feed: (any SensorSim.SampleSource)?
    /// The simulated chip's oscillator error (0 for a trace that must keep its own timeline).
    public var oscillatorError: Double

    public init(
        bus: String, address: UInt8? = nil, chip: ChipKind? = nil, settings: AccelerometerSettings = .default,
        interrupt: String? = nil, clock: SimulatedClock = .real, feed: (any SensorSim.SampleSource)? = nil,
        oscillatorError: Double = 0.025
    ) {
        self.bus = bus
        self.address = address
        self.chip = chip
        self.settings = settings
        self.interrupt = interrupt
        self.clock = clock
        self.feed = feed
        self.oscillatorError = oscillatorError
    }
}

/// A sensor opened through its chip driver, ready to stream.
public final class OpenedSensor {
    /// The driver with retries, re-probing and overrun accounting.
    public let sensor: ResilientAccelerometer
    public let bus: OpenedBus
    /// The device's address on the bus.
    public let address: UInt8
    /// The stable short name: `i2c-1/0x53`, `sim/adxl355`.
    public let busName: String

    init(sensor: ResilientAccelerometer, bus: OpenedBus, address: UInt8, busName: String) {
        self.sensor = sensor
        self.bus = bus
        self.address = address
        self.busName = busName
    }

    public var time: any TimeSource { bus.time }
    /// The simulated chip, when the bus is simulated.
    public var simulated: SimulatedChip? { bus.simulated }

    /// `i2c-1/0x53 adxl345`, `sim/adxl355`: the `TWITCH_SENSOR` value, once the chip is known.
    public var name: String {
        let chip =
            sensor.configuration?.chip
            ?? {
                if case .chip(let k) = sensor.selection { return k }
                return nil
            }()
        return BusName.sensorName(bus: busName, chip: chip?.rawValue)
    }

    /// Opens `request`: the bus, the address (probing when not given), the interrupt line, and
    /// the driver. Nothing is written to the chip until the first read.
    public static func open(_ request: SensorRequest) throws(SensorOpenError) -> OpenedSensor {
        var spec = request.bus
        if BusName.isSimulated(spec), let a = request.address, !spec.contains("@") {
            spec += "@0x" + String(a, radix: 16)
        }
        let opened = try OpenedBus(
            spec: spec, clock: request.clock, feed: request.feed, oscillatorError: request.oscillatorError)
        var chip = request.chip
        let address: UInt8
        if let a = request.address {
            address = a
        } else if let model = opened.simulated {
            address = model.address
        } else {
            let found = Accelerometer.probe(adapter: opened.adapter, chips: ChipRegistry.kinds).first { r in
                r.chip != nil && (request.chip == nil || r.chip == request.chip)
            }
            guard let found else {
                let which = request.chip.map { "\($0.displayName)" } ?? "supported accelerometer"
                throw SensorOpenError(
                    "no \(which) answers on \(opened.adapter.name) (try `twitchd probe --bus \(request.bus)`)",
                    exit: .unavailable, transient: true)
            }
            address = found.address
            chip = chip ?? found.chip
        }
        let device: any SensorBus
        do { device = try opened.adapter.device(at: address) } catch {
            throw SensorOpenError(
                "\(error)", exit: SensorOpenError.exit(for: error), transient: error.isTransient)
        }
        if chip == nil {
            // Named now if it answers (for the sensor's name); otherwise identified on connecting.
            chip = try? Accelerometer.identify(bus: device, among: ChipRegistry.kinds)
        }
        var line: (any InterruptLine)? = opened.simulated?.interruptLine
        if opened.simulated == nil, let interrupt = request.interrupt {
            do {
                line = try GPIODataReadyLine(try GPIOLineSpec(parsing: interrupt))
            } catch {
                throw SensorOpenError(
                    "interrupt \(interrupt): \(error)",
                    exit: error.kind == .permissionDenied ? .noPerm : .unavailable)
            }
        }
        let driver = ResilientAccelerometer(
            bus: device, chip: chip.map { .chip($0) } ?? .identify(among: ChipRegistry.kinds),
            settings: request.settings,
            interrupt: line, time: opened.time)
        let busName =
            opened.simulated.map { BusName.simulated($0.chipName) }
            ?? BusName.short(request.bus) + "/" + BusName.hex(address)
        return OpenedSensor(sensor: driver, bus: opened, address: address, busName: busName)
    }
}

/// Names of buses and sensors as messages and the journal show them.
public enum BusName {
    /// Whether `spec` names a simulated bus (`sim:CHIP`).
    public static func isSimulated(_ spec: String) -> Bool { spec.lowercased().hasPrefix("sim:") }

    /// `i2c-1` for `/dev/i2c-1`.
    public static func short(_ path: String) -> String {
        path.hasPrefix("/dev/") ? String(path.dropFirst(5)) : path
    }

    /// `sim/adxl355`.
    public static func simulated(_ chip: String) -> String { "sim/" + chip }

    /// `0x53`.
    public static func hex(_ a: UInt8) -> String {
        let s = String(a, radix: 16)
        return "0x" + (s.count < 2 ? "0" + s : s)
    }

    /// `i2c-1/0x53 adxl345`; a simulated bus (`sim/adxl355`) already names its chip.
    public static func sensorName(bus: String, chip: String?) -> String {
        guard let chip, !bus.hasPrefix("sim/") else { return bus }
        return bus + " " + chip
    }
}
