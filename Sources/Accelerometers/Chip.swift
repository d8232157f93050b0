public import SensorBus
public import TwitchCore

/// One accelerometer chip twitchd drives: its driver and the driver's static table.
///
/// Each driver file declares its kind (`extension ChipKind { public static let adxl345 = ... }`);
/// the list of chips a build supports is the registry in the `Sensors` module, not this module:
/// identification and probing take the candidates to consider.
public struct ChipKind: Sendable, Hashable, CustomStringConvertible {
    /// The name configuration and command line use, e.g. `adxl345`, `mpu6050`.
    public let rawValue: String
    /// The name printed on the chip, e.g. `ADXL345`, `MPU-6050`.
    public let displayName: String
    let driver: any ChipDriver

    init(driver: any ChipDriver, name: String, displayName: String) {
        self.driver = driver
        self.rawValue = name
        self.displayName = displayName
    }

    public static func == (a: ChipKind, b: ChipKind) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }

    public var description: String { displayName }

    var table: ChipTable { driver.table }

    /// The 7-bit I2C addresses this chip can answer at (set by its address strap), most common first.
    public var addresses: [UInt8] { table.addresses }

    /// The register that identifies the chip (WHO_AM_I, DEVID) and the value it must hold.
    public var identification: (register: UInt8, value: UInt8) { (table.idRegister, table.idValue) }

    /// Output data rates the chip can be set to, in Hz (nominal; the real rate is a few percent off).
    public var supportedRates: [Double] { table.rates.map(\.hz) }

    /// Full-scale ranges the chip can be set to, in g (±).
    public var supportedRanges: [Double] { table.ranges.map(\.g) }

    /// The output rate chosen when the settings name none: fast enough for 10-30 Hz twitches and
    /// the mechanomyogram band, slow enough to keep noise and bus load down.
    public var defaultRate: Double { table.defaultRate }

    /// The FIFO's capacity in samples (frames of x, y, z), or 0 when it has none.
    public var fifoCapacity: Int { table.fifoFrames }

    /// The self-test's expected deflection per axis, or nil when this build does not judge it.
    public var selfTestLimits: SelfTestLimits? { driver.selfTestLimits }

    /// The key a name is matched by: lower case, `-` and `_` ignored (`MPU-6050` is `mpu6050`).
    public static func key(_ text: String) -> String {
        text.lowercased().filter { $0 != "-" && $0 != "_" }
    }

    /// Every address any of `chips` can answer at, ascending.
    public static func addresses(of chips: [ChipKind]) -> [UInt8] {
        Array(Set(chips.flatMap(\.addresses))).sorted()
    }
}

/// One row of a chip's rate table: the rate in Hz and the register code that selects it.
struct RateEntry: Sendable {
    var hz: Double
    var code: UInt8
}

/// One row of a chip's range table: ± range in g, register code, and g per LSB of the decoded value.
struct RangeEntry: Sendable {
    var g: Double
    var code: UInt8
    var gPerLSB: Double
}

/// A chip's static description, Linux-IIO style: identification, tables, FIFO geometry.
struct ChipTable: Sendable {
    var addresses: [UInt8]
    var idRegister: UInt8
    var idValue: UInt8
    var rates: [RateEntry]
    var ranges: [RangeEntry]
    var defaultRate: Double
    /// Bytes of one sample as read from the FIFO (or the data registers in bypass mode).
    var frameBytes: Int
    /// FIFO capacity in frames.
    var fifoFrames: Int
    /// Whether the chip raises its interrupt at a FIFO watermark (MPU-6050 cannot).
    var watermarkInterrupt: Bool
    /// Whether one bus transaction can carry several FIFO frames. The ADXL345 exposes its FIFO
    /// through the six data registers and auto-increments past them, so each frame is one read.
    var framesPerBurst: Bool
    /// Whether flushing the FIFO restarts the chip's sampling (a standby/measure cycle), so the
    /// timing phase must be re-learnt.
    var flushRestartsSampling: Bool = false
    /// Whether, after an overrun, the FIFO still holds the newest samples in order (stream mode:
    /// the oldest are overwritten), so they can be read instead of flushed.
    var overrunKeepsNewest: Bool = false

    func rate(nearest hz: Double) -> RateEntry {
        rates.min { abs($0.hz - hz) < abs($1.hz - hz) } ?? rates[0]
    }

    func range(atLeast g: Double) -> RangeEntry {
        ranges.first { $0.g >= g - 1e-9 } ?? ranges[ranges.count - 1]
    }
}

/// Which chip to drive: a named one, or whichever answers its ID register at the address.
public enum ChipSelection: Sendable, Equatable {
    /// Whichever of these chips answers its ID register at the address.
    case identify(among: [ChipKind])
    case chip(ChipKind)
}

/// What the caller asks for; every field has a good default for twitch detection.
public struct AccelerometerSettings: Sendable, Equatable {
    /// Output data rate in Hz; `nil` picks the chip's ``ChipKind/defaultRate`` (400-500 Hz).
    /// The nearest rate the chip supports is used.
    public var rateHz: Double?
    /// Full-scale range in g (±); `nil` picks the finest (±2 g on every supported chip).
    /// The smallest supported range that covers it is used.
    public var rangeG: Double?
    /// Stream through the chip's FIFO with a watermark (the normal mode). `false` selects the
    /// chip's bypass mode: one sample per data-ready edge (or poll), as a passive register file
    /// such as the kernel's i2c-stub can serve.
    public var useFIFO: Bool
    /// FIFO watermark in samples; `nil` picks about 40 ms worth, at most half the FIFO.
    public var watermark: Int?

    /// Bypass mode with an interrupt line: read only when an edge comes (and once at start), never
    /// on a wait timeout. For a passive register file such as the kernel's i2c-stub, whose
    /// DATA_READY bit never clears, so a timeout poll would read the last sample again. With a
    /// real chip leave it off: the timeout poll is what recovers from a missed edge.
    public var readOnlyOnEdges: Bool

    public init(
        rateHz: Double? = nil, rangeG: Double? = nil, useFIFO: Bool = true, watermark: Int? = nil,
        readOnlyOnEdges: Bool = false
    ) {
        self.rateHz = rateHz
        self.rangeG = rangeG
        self.useFIFO = useFIFO
        self.watermark = watermark
        self.readOnlyOnEdges = readOnlyOnEdges
    }

    /// FIFO streaming at the chip's default rate and finest range.
    public static let `default` = AccelerometerSettings()
}

/// The configuration actually applied to a chip, after rounding the settings to what it supports.
public struct ChipConfiguration: Sendable, Equatable, CustomStringConvertible {
    public var chip: ChipKind
    /// Nominal output data rate in Hz (the chip's oscillator makes the real one a few % different;
    /// see ``Accelerometer/measuredRate``).
    public var rateHz: Double
    /// ± full-scale range in g.
    public var rangeG: Double
    /// g per LSB of the decoded sample.
    public var gPerLSB: Double
    public var useFIFO: Bool
    /// FIFO watermark in samples (1 in bypass mode).
    public var watermark: Int
    /// See ``AccelerometerSettings/readOnlyOnEdges``.
    public var readOnlyOnEdges: Bool

    let rateCode: UInt8
    let rangeCode: UInt8

    /// Resolves `settings` against the chip's tables.
    public init(chip: ChipKind, settings: AccelerometerSettings) {
        let table = chip.table
        let rate = table.rate(nearest: settings.rateHz ?? table.defaultRate)
        let range = table.range(atLeast: settings.rangeG ?? 0)
        self.chip = chip
        self.rateHz = rate.hz
        self.rateCode = rate.code
        self.rangeG = range.g
        self.rangeCode = range.code
        self.gPerLSB = range.gPerLSB
        self.useFIFO = settings.useFIFO && table.fifoFrames > 0
        self.readOnlyOnEdges = settings.readOnlyOnEdges && !self.useFIFO
        if self.useFIFO {
            let automatic = Int((rate.hz * 0.04).rounded())
            let limit = max(1, table.fifoFrames / 2)
            self.watermark = min(max(settings.watermark ?? automatic, 1), limit)
        } else {
            self.watermark = 1
        }
    }

    public var description: String {
        let mode = useFIFO ? "FIFO watermark \(watermark)" : "bypass (one sample per data-ready)"
        return "\(chip.displayName) \(formatHz(rateHz)) Hz ±\(formatHz(rangeG)) g, \(mode)"
    }
}

func formatHz(_ v: Double) -> String {
    v == v.rounded() ? String(Int(v)) : String(v)
}

/// One timestamped sample from a chip.
public struct TimedSample: Sendable, Equatable {
    /// `CLOCK_MONOTONIC` time of the sample, reconstructed from interrupt/read times, FIFO level and
    /// the measured output rate.
    public var monotonicNs: UInt64
    /// `CLOCK_REALTIME` time of the same instant (nanoseconds since the Unix epoch).
    public var realtimeNs: Int64
    /// Acceleration in g.
    public var acceleration: Vector3

    public init(monotonicNs: UInt64, realtimeNs: Int64, acceleration: Vector3) {
        self.monotonicNs = monotonicNs
        self.realtimeNs = realtimeNs
        self.acceleration = acceleration
    }

    public static let zero = TimedSample(monotonicNs: 0, realtimeNs: 0, acceleration: .zero)

    /// The sample as the detector takes it: time in `CLOCK_MONOTONIC` seconds.
    public var sample: Sample {
        Sample(time: Double(monotonicNs) * 1e-9, acceleration: acceleration)
    }
}

/// What one ``Accelerometer/read(into:)`` call produced.
public struct ReadResult: Sendable, Equatable {
    /// Samples written to the front of the buffer.
    public var count: Int
    /// Samples the chip produced that will never be delivered (FIFO overrun, flush, missed
    /// data-ready). Estimated from the measured rate and the time of the gap.
    public var lost: Int
    /// Whether this call found the FIFO overrun (and flushed it, or, in stream mode on a chip
    /// that keeps the newest samples, read those).
    public var overrun: Bool

    public init(count: Int, lost: Int, overrun: Bool) {
        self.count = count
        self.lost = lost
        self.overrun = overrun
    }
}

/// Errors from the chip drivers. Bus errors keep their errno.
public enum AccelerometerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bus failed.
    case bus(BusError)
    /// No supported chip's ID register matched at this address.
    case notIdentified(device: String, register: UInt8, found: UInt8)
    /// The chip's ID register held the wrong value.
    case wrongID(chip: ChipKind, device: String, register: UInt8, expected: UInt8, found: UInt8)
    /// A configuration register did not read back what was written.
    case configurationNotApplied(chip: ChipKind, register: UInt8, wrote: UInt8, readBack: UInt8)
    /// The chip stopped producing samples (stuck FIFO or interrupt) for this long.
    case stalled(nanoseconds: UInt64)
    /// `read` was called before `start`.
    case notStarted

    public var description: String {
        switch self {
        case .bus(let e): return e.description
        case .notIdentified(let d, let r, let v):
            return "\(d): no supported accelerometer (register 0x\(hex(r)) = 0x\(hex(v)))"
        case .wrongID(let c, let d, let r, let e, let v):
            return "\(d): not a \(c.displayName): register 0x\(hex(r)) = 0x\(hex(v)), expected 0x\(hex(e))"
        case .configurationNotApplied(let c, let r, let w, let v):
            return "\(c.displayName): register 0x\(hex(r)) reads back 0x\(hex(v)) after writing 0x\(hex(w))"
        case .stalled(let ns):
            return "sensor produced no samples for \(ns / 1_000_000) ms (stuck FIFO or interrupt)"
        case .notStarted: return "accelerometer not started"
        }
    }

    /// Whether re-probing and re-configuring may bring the sensor back.
    public var isRecoverable: Bool {
        switch self {
        case .bus(let e): return e.isTransient
        case .stalled, .configurationNotApplied, .wrongID, .notIdentified: return true
        case .notStarted: return false
        }
    }
}

func hex(_ v: UInt8) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return s.count < 2 ? "0" + s : s
}
