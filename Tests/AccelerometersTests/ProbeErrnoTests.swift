import Accelerometers
import SensorBus
import Sensors
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A bus on which every transfer fails with one errno, as an empty address does on a real adapter.
private final class FailingBus: SensorBus {
    let address: UInt8
    let errno: Int32
    let maxBurstLength = 32
    var name: String { "failing@\(address)" }
    init(address: UInt8, errno: Int32) {
        self.address = address
        self.errno = errno
    }
    func readRegister(_ register: UInt8) throws(BusError) -> UInt8 {
        throw BusError(errno: errno, operation: "read \(register)")
    }
    func writeRegister(_ register: UInt8, value: UInt8) throws(BusError) {
        throw BusError(errno: errno, operation: "write \(register)")
    }
    func readRegisters(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(BusError) {
        throw BusError(errno: errno, operation: "read \(register)")
    }
}

private final class FailingAdapter: BusAdapter {
    let errno: Int32
    let name = "failing"
    init(errno: Int32) { self.errno = errno }
    func device(at address: UInt8) throws(BusError) -> any SensorBus {
        FailingBus(address: address, errno: errno)
    }
}

@Suite("probe: what an empty address looks like")
struct ProbeErrnoTests {
    @Test("ENXIO and ENODEV (i2c-stub's answer) mean no device; EIO is a bus error")
    func emptyAddresses() {
        for code in [ENXIO, ENODEV] {
            let results = Accelerometer.probe(
                adapter: FailingAdapter(errno: code), chips: ChipRegistry.kinds, addresses: [0x1D, 0x53])
            #expect(results.allSatisfy { $0.outcome == .absent }, "errno \(code)")
        }
        let eio = Accelerometer.probe(
            adapter: FailingAdapter(errno: EIO), chips: ChipRegistry.kinds, addresses: [0x53])
        #expect(eio.allSatisfy { $0.outcome != .absent })
    }
}
