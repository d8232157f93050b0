public import Accelerometers
public import SensorBus
public import SensorSim
public import Traces
import TwitchCore

/// One supported chip: one row of the registry, in the manner of the Linux IIO `st_sensors`
/// settings tables.
///
/// The driver file declares the chip's table (identity: ID register and value; I2C addresses;
/// output rates and range codes; FIFO geometry; self-test window); the row joins it to the
/// register-level simulated model and the simulator's noise figures. Configuration validation,
/// `probe`, the simulated buses, `--help` and error texts are all generated from the rows.
public struct ChipDescription: Sendable {
    /// The driver and its table.
    public let kind: ChipKind
    /// The register-level simulated chip behind `sim:NAME`.
    public let model: SimulatedChip.Type
    /// What the trace simulator adds for this chip: noise density, LSB, zero-g offset.
    public let noise: SensorModel
    /// Other names the same chip is sold under (same ID and registers), e.g. `lsm6dsox`.
    public let aliases: [String]

    public init(_ kind: ChipKind, model: SimulatedChip.Type, noise: SensorModel, aliases: [String] = []) {
        self.kind = kind
        self.model = model
        self.noise = noise
        self.aliases = aliases
    }

    /// `adxl345`: the name in configuration files, `--chip` and `sim:NAME`.
    public var name: String { kind.rawValue }
    /// The address a simulated chip answers at unless told otherwise: its usual strap.
    public var defaultAddress: UInt8 { kind.addresses[0] }

    /// A new simulated chip of this kind.
    public func makeModel(
        address: UInt8? = nil, source: any SensorSim.SampleSource, time: any TimeSource,
        oscillatorError: Double = 0.025, maxBurstLength: Int = 32, busSpeedHz: Double = 400_000
    ) -> SimulatedChip {
        model.init(
            address: address ?? defaultAddress, source: source, time: time, oscillatorError: oscillatorError,
            maxBurstLength: maxBurstLength, busSpeedHz: busSpeedHz)
    }

    /// `ADXL345 0x53/0x1D`.
    public var addressSummary: String {
        kind.displayName + " " + kind.addresses.map(BusName.hex).joined(separator: "/")
    }

    /// `1, 10, 25, 50, 100, 200, 400 or 1344 Hz`.
    public var rateList: String { ChipRegistry.or(kind.supportedRates.map(ChipRegistry.number)) + " Hz" }

    /// `2, 4, 8 or 16 g`.
    public var rangeList: String { ChipRegistry.or(kind.supportedRanges.map(ChipRegistry.number)) + " g" }
}

/// The chips this build supports: the one list.
public enum ChipRegistry {
    public static let all: [ChipDescription] = [
        ChipDescription(.adxl345, model: ADXL345Model.self, noise: .adxl345),
        ChipDescription(.lis3dh, model: LIS3DHModel.self, noise: .lis3dh),
        ChipDescription(.mpu6050, model: MPU6050Model.self, noise: .mpu6050),
        ChipDescription(.adxl355, model: ADXL355Model.self, noise: .adxl355),
        ChipDescription(.lsm6dso, model: LSM6DSOModel.self, noise: .lsm6dso, aliases: ["lsm6dsox"]),
    ]

    /// The drivers, for identification and probing.
    public static let kinds: [ChipKind] = all.map(\.kind)

    /// The row for `kind`.
    public static func row(_ kind: ChipKind) -> ChipDescription? {
        all.first { $0.kind == kind }
    }

    /// The row called `text` (`ADXL345`, `mpu-6050`, `MPU6050`...), or nil.
    public static func named(_ text: String) -> ChipDescription? {
        let key = ChipKind.key(text)
        return all.first { ChipKind.key($0.name) == key || $0.aliases.contains { ChipKind.key($0) == key } }
    }

    /// `adxl345, lis3dh, mpu6050 or adxl355`.
    public static var nameList: String { or(all.map(\.name)) }

    /// The simulator's noise per chip: `adxl345 350 ug/rtHz 3.9 mg; lis3dh 220 ug/rtHz 1 mg; ...`.
    public static var noiseSummary: String {
        func lsb(_ g: Double) -> String {
            g >= 0.001 ? "\(trimmed(g * 1000)) mg" : "\(trimmed(g * 1_000_000)) ug"
        }
        return all.map {
            "\($0.name) \(trimmed($0.noise.noiseDensity * 1_000_000)) ug/rtHz \(lsb($0.noise.lsb))"
        }
        .joined(separator: "; ")
    }

    /// A number with at most one decimal, no trailing `.0`.
    private static func trimmed(_ x: Double) -> String {
        let tenths = (x * 10).rounded()
        let whole = tenths / 10
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(whole))" : "\(whole)"
    }

    /// `sim:adxl345, sim:lis3dh, sim:mpu6050 or sim:adxl355`.
    public static var simulatedBusList: String { or(all.map { "sim:" + $0.name }) }

    /// `ADXL345 0x53/0x1D, LIS3DH 0x18/0x19, ...`.
    public static var addressSummary: String { all.map(\.addressSummary).joined(separator: ", ") }

    /// The chips whose self-test is judged, e.g. `ADXL345, LIS3DH and ADXL355`.
    public static var selfTestList: String {
        or(all.filter { $0.kind.selfTestLimits != nil }.map(\.kind.displayName), last: "and")
    }

    /// Every address a supported chip can answer at, ascending.
    public static var addresses: [UInt8] { ChipKind.addresses(of: kinds) }

    /// The chips that can answer at `address`.
    public static func candidates(at address: UInt8) -> [ChipDescription] {
        all.filter { $0.kind.addresses.contains(address) }
    }

    /// A simulated bus from `sim:CHIP[@ADDR]` holding one chip model fed by `source`; nil when
    /// the spec names no supported chip or a bad address.
    public static func simulatedAdapter(
        spec: String, source: any SensorSim.SampleSource, time: any TimeSource,
        oscillatorError: Double = 0.025
    ) -> SimulatedAdapter? {
        guard BusName.isSimulated(spec) else { return nil }
        let parts = spec.dropFirst(4).split(separator: "@", maxSplits: 1)
        guard let first = parts.first, let row = named(String(first)) else { return nil }
        var address: UInt8? = nil
        if parts.count == 2 {
            let text = parts[1].lowercased()
            let digits = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
            guard let a = UInt8(digits, radix: 16), a < 0x80 else { return nil }
            address = a
        }
        let chip = row.makeModel(
            address: address, source: source, time: time, oscillatorError: oscillatorError)
        return SimulatedAdapter(name: "sim:\(row.name)", chips: [chip])
    }

    /// `a, b or c`.
    static func or(_ items: [String], last: String = "or") -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " \(last) " + (items.last ?? "")
    }

    /// `6.25`, `400`.
    public static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(v)
    }
}
