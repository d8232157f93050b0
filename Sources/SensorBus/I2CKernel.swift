import CI2C

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The kernel calls ``LinuxI2CAdapter`` and ``LinuxI2CBus`` make, one method per call, so tests can
/// replace the kernel with a fake that records requests and returns chosen errnos.
///
/// Every method returns a non-negative result on success and `-errno` on failure (libi2c's own
/// convention), so no caller reads the thread-global `errno`.
protocol I2CKernel: AnyObject, Sendable {
    /// `open(path, O_RDWR | O_CLOEXEC)`: the file descriptor, or `-errno`.
    func open(_ path: String) -> Int32
    func close(_ fd: Int32)
    /// `ioctl(fd, I2C_FUNCS, &funcs)`: the adapter's functionality mask, or `-errno` in `.failure`.
    func functionality(_ fd: Int32) -> Result<UInt, KernelErrno>
    /// `ioctl(fd, I2C_SLAVE, address)` (never `I2C_SLAVE_FORCE`): 0 or `-errno`.
    func setSlaveAddress(_ fd: Int32, _ address: UInt8) -> Int32
    /// libi2c `i2c_smbus_read_byte_data`: the byte (0...255) or `-errno`.
    func smbusReadByteData(_ fd: Int32, _ register: UInt8) -> Int32
    /// libi2c `i2c_smbus_write_byte_data`: 0 or `-errno`.
    func smbusWriteByteData(_ fd: Int32, _ register: UInt8, _ value: UInt8) -> Int32
    /// libi2c `i2c_smbus_read_i2c_block_data` (length <= 32): bytes read or `-errno`.
    func smbusReadI2CBlockData(
        _ fd: Int32, _ register: UInt8, _ length: UInt8, _ values: UnsafeMutablePointer<UInt8>
    ) -> Int32
    /// `ioctl(fd, I2C_RDWR, &{msgs, count})`: the number of messages transferred, or `-errno`.
    func readWrite(_ fd: Int32, _ messages: UnsafeMutablePointer<i2c_msg>, _ count: Int) -> Int32
}

/// A positive errno carried through `Result`.
struct KernelErrno: Error, Equatable {
    var code: Int32
}

/// The real kernel: Glibc and libi2c.
final class SystemI2CKernel: I2CKernel, Sendable {
    static let shared = SystemI2CKernel()

    private static func currentErrno() -> Int32 {
        #if canImport(Glibc)
            return Glibc.errno
        #else
            return Darwin.errno
        #endif
    }

    func open(_ path: String) -> Int32 {
        #if canImport(Glibc)
            let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        #else
            let fd = Darwin.open(path, O_RDWR | O_CLOEXEC)
        #endif
        return fd >= 0 ? fd : -Self.currentErrno()
    }

    func close(_ fd: Int32) {
        #if canImport(Glibc)
            _ = Glibc.close(fd)
        #else
            _ = Darwin.close(fd)
        #endif
    }

    func functionality(_ fd: Int32) -> Result<UInt, KernelErrno> {
        var funcs: UInt = 0  // the kernel writes an unsigned long
        let rc = ioctl(fd, UInt(I2C_FUNCS), &funcs)
        return rc < 0 ? .failure(KernelErrno(code: Self.currentErrno())) : .success(funcs)
    }

    func setSlaveAddress(_ fd: Int32, _ address: UInt8) -> Int32 {
        // Glibc's Swift overlay has no variadic ioctl; this overload passes the address as an int.
        let rc = ioctl(fd, UInt(I2C_SLAVE), CInt(address))
        return rc < 0 ? -Self.currentErrno() : 0
    }

    func smbusReadByteData(_ fd: Int32, _ register: UInt8) -> Int32 {
        i2c_smbus_read_byte_data(fd, register)
    }

    func smbusWriteByteData(_ fd: Int32, _ register: UInt8, _ value: UInt8) -> Int32 {
        i2c_smbus_write_byte_data(fd, register, value)
    }

    func smbusReadI2CBlockData(
        _ fd: Int32, _ register: UInt8, _ length: UInt8, _ values: UnsafeMutablePointer<UInt8>
    ) -> Int32 {
        i2c_smbus_read_i2c_block_data(fd, register, length, values)
    }

    func readWrite(_ fd: Int32, _ messages: UnsafeMutablePointer<i2c_msg>, _ count: Int) -> Int32 {
        var data = i2c_rdwr_ioctl_data(msgs: messages, nmsgs: UInt32(count))
        let rc = ioctl(fd, UInt(I2C_RDWR), &data)
        return rc < 0 ? -Self.currentErrno() : rc
    }
}
