public import SensorBus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A simulated I2C bus: the chip models on it answer at their addresses; every other address NACKs
/// (ENXIO), like an empty slot on a real bus. (`sim:CHIP[@ADDR]` is parsed by the `Sensors`
/// module, which knows the chips.)
public final class SimulatedAdapter: BusAdapter {
    public let name: String
    public private(set) var chips: [SimulatedChip]

    public init(name: String, chips: [SimulatedChip]) {
        self.name = name
        self.chips = chips
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
