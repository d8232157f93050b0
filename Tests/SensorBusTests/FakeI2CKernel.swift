import CI2C

@testable import SensorBus

/// A kernel that records every request and answers from a register file, or with a chosen errno.
final class FakeI2CKernel: I2CKernel, @unchecked Sendable {
    struct Message: Equatable, CustomStringConvertible {
        var addr: UInt16
        var flags: UInt16
        var len: UInt16
        /// The bytes a write message carries (empty for reads).
        var written: [UInt8]
        var description: String { "{addr 0x\(String(addr, radix: 16)) flags \(flags) len \(len) \(written)}" }
    }

    enum Call: Equatable {
        case open(String)
        case close(Int32)
        case functionality(Int32)
        case setSlave(fd: Int32, address: UInt8)
        case readByteData(fd: Int32, register: UInt8)
        case writeByteData(fd: Int32, register: UInt8, value: UInt8)
        case readI2CBlock(fd: Int32, register: UInt8, length: UInt8)
        case readWrite(fd: Int32, messages: [Message])
    }

    var calls: [Call] = []
    var openErrno: Int32 = 0
    var funcs: UInt
    var funcsErrno: Int32 = 0
    var slaveErrno: Int32 = 0
    /// Errnos the next transfers (byte, block, RDWR) fail with, first first.
    var transferErrnos: [Int32] = []
    /// When set, block reads report this many bytes instead of the length asked for.
    var shortBlockLength: Int32?
    /// What the device's registers hold; bursts read consecutive registers.
    var registers: [UInt8] = (0..<256).map { UInt8($0) }
    private var nextFD: Int32 = 3
    var openFDs: Set<Int32> = []

    init(funcs: UInt) { self.funcs = funcs }

    private func takeErrno() -> Int32? { transferErrnos.isEmpty ? nil : transferErrnos.removeFirst() }

    func open(_ path: String) -> Int32 {
        calls.append(.open(path))
        if openErrno != 0 { return -openErrno }
        defer { nextFD += 1 }
        openFDs.insert(nextFD)
        return nextFD
    }

    func close(_ fd: Int32) {
        calls.append(.close(fd))
        openFDs.remove(fd)
    }

    func functionality(_ fd: Int32) -> Result<UInt, KernelErrno> {
        calls.append(.functionality(fd))
        return funcsErrno != 0 ? .failure(KernelErrno(code: funcsErrno)) : .success(funcs)
    }

    func setSlaveAddress(_ fd: Int32, _ address: UInt8) -> Int32 {
        calls.append(.setSlave(fd: fd, address: address))
        return slaveErrno != 0 ? -slaveErrno : 0
    }

    func smbusReadByteData(_ fd: Int32, _ register: UInt8) -> Int32 {
        calls.append(.readByteData(fd: fd, register: register))
        if let e = takeErrno() { return -e }
        return Int32(registers[Int(register)])
    }

    func smbusWriteByteData(_ fd: Int32, _ register: UInt8, _ value: UInt8) -> Int32 {
        calls.append(.writeByteData(fd: fd, register: register, value: value))
        if let e = takeErrno() { return -e }
        registers[Int(register)] = value
        return 0
    }

    func smbusReadI2CBlockData(
        _ fd: Int32, _ register: UInt8, _ length: UInt8, _ values: UnsafeMutablePointer<UInt8>
    ) -> Int32 {
        calls.append(.readI2CBlock(fd: fd, register: register, length: length))
        if let e = takeErrno() { return -e }
        let n = Int(shortBlockLength ?? Int32(length))
        for i in 0..<n { values[i] = registers[(Int(register) + i) % 256] }
        return Int32(n)
    }

    func readWrite(_ fd: Int32, _ messages: UnsafeMutablePointer<i2c_msg>, _ count: Int) -> Int32 {
        var recorded: [Message] = []
        for i in 0..<count {
            let m = messages[i]
            let isRead = m.flags & UInt16(I2C_M_RD) != 0
            let written = isRead ? [] : (0..<Int(m.len)).map { m.buf[$0] }
            recorded.append(Message(addr: m.addr, flags: m.flags, len: m.len, written: written))
        }
        calls.append(.readWrite(fd: fd, messages: recorded))
        if let e = takeErrno() { return -e }
        // Act like a register-addressed device: a write sets the pointer (and stores the rest), a
        // read returns consecutive registers from the pointer.
        var pointer = 0
        for i in 0..<count {
            let m = messages[i]
            if m.flags & UInt16(I2C_M_RD) != 0 {
                for j in 0..<Int(m.len) { m.buf[j] = registers[(pointer + j) % 256] }
            } else if m.len > 0 {
                pointer = Int(m.buf[0])
                for j in 1..<max(1, Int(m.len)) { registers[(pointer + j - 1) % 256] = m.buf[j] }
            }
        }
        return Int32(count)
    }
}

/// Functionality masks of real adapters, from the kernel's own constants.
enum Funcs {
    /// i2c-bcm2835 (Raspberry Pi): plain I2C plus what the core emulates over it, which excludes
    /// SMBus block reads (`I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL | I2C_FUNC_PROTOCOL_MANGLING`).
    static let raspberryPi: UInt = {
        let emul =
            UInt(I2C_FUNC_SMBUS_QUICK) | UInt(I2C_FUNC_SMBUS_BYTE) | UInt(I2C_FUNC_SMBUS_BYTE_DATA)
            | UInt(I2C_FUNC_SMBUS_WORD_DATA) | UInt(I2C_FUNC_SMBUS_PROC_CALL)
            | UInt(I2C_FUNC_SMBUS_WRITE_BLOCK_DATA) | UInt(I2C_FUNC_SMBUS_I2C_BLOCK)
            | UInt(I2C_FUNC_SMBUS_PEC)
        return UInt(I2C_FUNC_I2C) | emul | UInt(I2C_FUNC_PROTOCOL_MANGLING)
    }()
    /// An SMBus-only host controller (no plain I2C): byte data and I2C-block transfers.
    static let smbusOnly = UInt(I2C_FUNC_SMBUS_BYTE_DATA) | UInt(I2C_FUNC_SMBUS_I2C_BLOCK)
    /// Byte data only.
    static let byteDataOnly = UInt(I2C_FUNC_SMBUS_BYTE_DATA)
    /// Plain I2C only (no SMBus emulation advertised).
    static let i2cOnly = UInt(I2C_FUNC_I2C)
}
