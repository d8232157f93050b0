public import SensorBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which chip models exist, by the names `sim:CHIP` accepts.
public enum SimulatedChipKind: String, Sendable, CaseIterable {
    case adxl345, lis3dh, mpu6050, adxl355

    /// The address the model answers at unless told otherwise (the chip's usual strap).
    public var defaultAddress: UInt8 {
        switch self {
        case .adxl345: return 0x53
        case .lis3dh: return 0x18
        case .mpu6050: return 0x68
        case .adxl355: return 0x1D
        }
    }

    /// Parses `adxl345`, `ADXL345`, `mpu-6050`...
    public init?(parsing text: String) {
        let key = text.lowercased().filter { $0 != "-" && $0 != "_" }
        guard let k = SimulatedChipKind(rawValue: key) else { return nil }
        self = k
    }

    /// A new model of this chip.
    public func make(
        address: UInt8? = nil, source: any SampleSource, time: any TimeSource,
        oscillatorError: Double = 0.025,
        maxBurstLength: Int = 32, busSpeedHz: Double = 400_000
    ) -> SimulatedChip {
        let a = address ?? defaultAddress
        switch self {
        case .adxl345:
            return ADXL345Model(
                address: a, source: source, time: time, oscillatorError: oscillatorError,
                maxBurstLength: maxBurstLength, busSpeedHz: busSpeedHz)
        case .lis3dh:
            return LIS3DHModel(
                address: a, source: source, time: time, oscillatorError: oscillatorError,
                maxBurstLength: maxBurstLength, busSpeedHz: busSpeedHz)
        case .mpu6050:
            return MPU6050Model(
                address: a, source: source, time: time, oscillatorError: oscillatorError,
                maxBurstLength: maxBurstLength, busSpeedHz: busSpeedHz)
        case .adxl355:
            return ADXL355Model(
                address: a, source: source, time: time, oscillatorError: oscillatorError,
                maxBurstLength: maxBurstLength, busSpeedHz: busSpeedHz)
        }
    }
}

/// A simulated I2C bus (`sim:adxl345`, `sim:adxl355@0x53`, ...): the chip models on it answer at
/// their addresses; every other address NACKs (ENXIO), like an empty slot on a real bus.
public final class SimulatedAdapter: BusAdapter {
    public let name: String
    public private(set) var chips: [SimulatedChip]

    public init(name: String, chips: [SimulatedChip]) {
        self.name = name
        self.chips = chips
    }

    /// Parses `sim:CHIP[@ADDR]` and builds the model fed by `source`.
    public convenience init?(
        spec: String, source: any SampleSource, time: any TimeSource, oscillatorError: Double = 0.025
    ) {
        guard spec.lowercased().hasPrefix("sim:") else { return nil }
        let rest = spec.dropFirst(4)
        let parts = rest.split(separator: "@", maxSplits: 1)
        guard let first = parts.first, let kind = SimulatedChipKind(parsing: String(first)) else {
            return nil
        }
        var address: UInt8? = nil
        if parts.count == 2 {
            let text = parts[1].lowercased()
            let digits = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
            guard let a = UInt8(digits, radix: 16), a < 0x80 else { return nil }
            address = a
        }
        let chip = kind.make(address: address, source: source, time: time, oscillatorError: oscillatorError)
        self.init(name: "sim:\(kind.rawValue)", chips: [chip])
    }

    public func device(at address: UInt8) throws(BusError) -> any SensorBus {
        if let chip = chips.first(where: { $0.address == address }) { return chip }
        return EmptySlot(address: address, adapter: name)
    }
}

/// An address with nothing on it: every transaction is not acknowledged.
final class EmptySlot: SensorBus {
    let address: UInt8
    let maxBurstLength = 32
    let name: String

    init(address: UInt8, adapter: String) {
        self.address = address
        self.name = "\(adapter)@0x\(String(address, radix: 16))"
    }

    func readRegister(_ register: UInt8) throws(BusError) -> UInt8 {
        throw BusError(
            kind: .addressNotAcknowledged, errno: ENXIO, operation: "read 0x\(String(register, radix: 16))")
    }

    func writeRegister(_ register: UInt8, value: UInt8) throws(BusError) {
        throw BusError(
            kind: .addressNotAcknowledged, errno: ENXIO, operation: "write 0x\(String(register, radix: 16))")
    }

    func readRegisters(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(BusError) {
        throw BusError(
            kind: .addressNotAcknowledged, errno: ENXIO, operation: "read 0x\(String(register, radix: 16))")
    }
}
