import CI2C

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What an I2C adapter can do, as `ioctl(I2C_FUNCS)` reports it (`I2C_FUNC_*` in `<linux/i2c.h>`).
public struct I2CFunctionality: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    /// Plain I2C messages (`I2C_RDWR`, repeated start). `I2C_FUNC_I2C`.
    public static let i2c = I2CFunctionality(rawValue: 0x0000_0001)
    /// `I2C_FUNC_SMBUS_READ_BYTE_DATA`.
    public static let smbusReadByteData = I2CFunctionality(rawValue: 0x0008_0000)
    /// `I2C_FUNC_SMBUS_WRITE_BYTE_DATA`.
    public static let smbusWriteByteData = I2CFunctionality(rawValue: 0x0010_0000)
    /// SMBus block reads with a length byte from the device. The Pi's controller cannot do these.
    /// `I2C_FUNC_SMBUS_READ_BLOCK_DATA`.
    public static let smbusReadBlockData = I2CFunctionality(rawValue: 0x0100_0000)
    /// I2C-style block reads of a fixed length up to 32 bytes. `I2C_FUNC_SMBUS_READ_I2C_BLOCK`.
    public static let smbusReadI2CBlock = I2CFunctionality(rawValue: 0x0400_0000)
    /// `I2C_FUNC_SMBUS_WRITE_I2C_BLOCK`.
    public static let smbusWriteI2CBlock = I2CFunctionality(rawValue: 0x0800_0000)

    public var description: String {
        var names: [String] = []
        if contains(.i2c) { names.append("I2C") }
        if contains(.smbusReadByteData) { names.append("SMBus read byte data") }
        if contains(.smbusWriteByteData) { names.append("SMBus write byte data") }
        if contains(.smbusReadBlockData) { names.append("SMBus read block data") }
        if contains(.smbusReadI2CBlock) { names.append("SMBus read I2C block") }
        if contains(.smbusWriteI2CBlock) { names.append("SMBus write I2C block") }
        let hex = String(rawValue, radix: 16)
        return names.isEmpty ? "none (0x\(hex))" : names.joined(separator: ", ") + " (0x\(hex))"
    }
}

/// How ``LinuxI2CBus`` moves multi-byte bursts.
public enum I2CBurstMode: Sendable, Equatable {
    /// `I2C_RDWR` with a repeated start when the adapter can (`I2C_FUNC_I2C`), else SMBus I2C-block
    /// reads. The default.
    case automatic
    /// Always SMBus I2C-block reads through libi2c (at most 32 bytes a transaction).
    case smbusBlock
    /// Always `I2C_RDWR` (fails at open when the adapter lacks `I2C_FUNC_I2C`).
    case repeatedStart
}

/// One Linux I2C adapter, `/dev/i2c-N`, through the kernel's i2c-dev interface.
///
/// Opening checks that the device file exists and is accessible and reads the adapter's
/// functionality once (`I2C_FUNCS`); ``device(at:)`` then hands out one ``LinuxI2CBus`` per chip
/// address, each on its own file descriptor with `I2C_SLAVE` set (two sensors on one bus are two
/// devices of the same adapter).
///
/// Immutable after opening, so it can be handed to another thread; each ``LinuxI2CBus`` it makes
/// belongs to the one thread that uses it.
public final class LinuxI2CAdapter: BusAdapter, Sendable {
    /// The SMBus I2C-block limit (`I2C_SMBUS_BLOCK_MAX`).
    public static let smbusBlockMax = 32
    /// The default longest `I2C_RDWR` read: a whole 32-sample, 6-byte FIFO, well under the
    /// kernel's 8192-byte per-message limit.
    public static let defaultRepeatedStartMax = 192

    /// The device file, e.g. `/dev/i2c-1`.
    public let path: String
    /// What the adapter can do, read at open.
    public let functionality: I2CFunctionality
    /// Whether bursts go through `I2C_RDWR` (else SMBus I2C-block reads).
    public let usesRepeatedStart: Bool
    /// The longest burst one ``LinuxI2CBus/readRegisters(_:into:)`` moves in one transaction.
    public let maxBurstLength: Int

    let kernel: any I2CKernel
    public var name: String { path }

    /// Opens `/dev/i2c-<number>`.
    public convenience init(busNumber: Int, burstMode: I2CBurstMode = .automatic) throws(BusError) {
        try self.init(path: "/dev/i2c-\(busNumber)", burstMode: burstMode)
    }

    /// Opens an adapter by its device file and reads its functionality.
    ///
    /// - Parameters:
    ///   - path: e.g. `/dev/i2c-1`.
    ///   - burstMode: how multi-byte reads are done.
    ///   - maxRepeatedStartLength: the longest `I2C_RDWR` read (used when bursts go that way).
    /// - Throws: ``BusError`` `.noSuchBus` (with how to enable I2C), `.permissionDenied` (naming the
    ///   `i2c` group), `.unsupported` when the adapter can neither read nor write a register.
    public convenience init(
        path: String, burstMode: I2CBurstMode = .automatic,
        maxRepeatedStartLength: Int = LinuxI2CAdapter.defaultRepeatedStartMax
    ) throws(BusError) {
        try self.init(
            path: path, burstMode: burstMode, maxRepeatedStartLength: maxRepeatedStartLength,
            kernel: SystemI2CKernel.shared)
    }

    init(
        path: String, burstMode: I2CBurstMode, maxRepeatedStartLength: Int, kernel: any I2CKernel
    ) throws(BusError) {
        self.path = path
        self.kernel = kernel
        let fd = try Self.openFile(path, kernel: kernel)
        defer { kernel.close(fd) }
        let funcs: I2CFunctionality
        switch kernel.functionality(fd) {
        case .success(let raw): funcs = I2CFunctionality(rawValue: raw)
        case .failure(let e):
            throw BusError(
                errno: e.code, operation: "ioctl I2C_FUNCS on \(path)",
                hint: e.code == ENOTTY ? "\(path) is not an i2c-dev device node." : nil)
        }
        functionality = funcs
        let canI2C = funcs.contains(.i2c)
        guard canI2C || funcs.isSuperset(of: [.smbusReadByteData, .smbusWriteByteData]) else {
            throw BusError(
                kind: .unsupported, errno: 0, operation: "open \(path)",
                hint: "The adapter offers neither plain I2C nor SMBus byte-data transfers "
                    + "(functionality: \(funcs)).")
        }
        switch burstMode {
        case .automatic: usesRepeatedStart = canI2C
        case .smbusBlock: usesRepeatedStart = false
        case .repeatedStart:
            guard canI2C else {
                throw BusError(
                    kind: .unsupported, errno: 0, operation: "open \(path)",
                    hint: "Repeated-start (I2C_RDWR) reads need I2C_FUNC_I2C; the adapter offers \(funcs).")
            }
            usesRepeatedStart = true
        }
        if usesRepeatedStart {
            maxBurstLength = max(1, min(maxRepeatedStartLength, 8192))
        } else if funcs.contains(.smbusReadI2CBlock) {
            maxBurstLength = Self.smbusBlockMax
        } else {
            maxBurstLength = 1  // register by register
        }
    }

    /// A bus handle for the device at `address` (7-bit, 0x03...0x77). Opens its own descriptor and
    /// sets `I2C_SLAVE`; does not put anything on the wire.
    ///
    /// - Throws: `.other` with a hint when a kernel driver already owns the address (EBUSY).
    public func device(at address: UInt8) throws(BusError) -> any SensorBus {
        try LinuxI2CBus(adapter: self, address: address)
    }

    /// `/dev/i2c-*` device files present on this machine, sorted by bus number.
    public static func availableBuses(in directory: String = "/dev") -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var found: [(Int, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix("i2c-"), let n = Int(name.dropFirst(4)) else { continue }
            found.append((n, directory + "/" + name))
        }
        return found.sorted { $0.0 < $1.0 }.map(\.1)
    }

    static func openFile(_ path: String, kernel: any I2CKernel) throws(BusError) -> Int32 {
        let fd = kernel.open(path)
        if fd >= 0 { return fd }
        let code = -fd
        let hint: String?
        switch code {
        case ENOENT:
            let present = availableBuses()
            let others =
                present.isEmpty ? "No /dev/i2c-* exists." : "Present: \(present.joined(separator: ", "))."
            hint =
                "\(path) does not exist. On a Raspberry Pi enable I2C with `dtparam=i2c_arm=on` in "
                + "/boot/firmware/config.txt (or `raspi-config nonint do_i2c 0`) and reboot; elsewhere "
                + "load the i2c-dev driver with `sudo modprobe i2c-dev`. \(others)"
        case EACCES, EPERM:
            hint =
                "No permission to open \(path): add the user to the `i2c` group "
                + "(sudo usermod -aG i2c $USER, then log in again), or run the service with "
                + "SupplementaryGroups=i2c."
        default:
            hint = nil
        }
        throw BusError(errno: code, operation: "open \(path)", hint: hint)
    }
}

/// One device (one 7-bit address) on a Linux I2C adapter: the real ``SensorBus``.
///
/// Single registers go through libi2c's SMBus byte-data helpers (or a two-message `I2C_RDWR` when
/// the adapter only does plain I2C); bursts go through `I2C_RDWR` with a repeated start or
/// `i2c_smbus_read_i2c_block_data` (at most 32 bytes), as the adapter allows. Never SMBus block
/// transfers (the Pi's controller cannot do them) and never `I2C_SLAVE_FORCE`.
///
/// Not thread-safe: one acquisition thread owns it. No allocation per transfer.
public final class LinuxI2CBus: SensorBus {
    public let address: UInt8
    public let maxBurstLength: Int
    public let name: String
    /// The adapter's functionality, as read when it was opened.
    public let functionality: I2CFunctionality

    private let kernel: any I2CKernel
    private let fd: Int32
    private let useRDWRForBursts: Bool
    private let useRDWRForBytes: Bool
    /// Two preallocated `i2c_msg`s (write register address, then read) and a two-byte write buffer.
    private let messages: UnsafeMutablePointer<i2c_msg>
    private let scratch: UnsafeMutablePointer<UInt8>

    init(adapter: LinuxI2CAdapter, address: UInt8) throws(BusError) {
        let label = "\(adapter.path)@0x\(Self.hex(address))"
        guard (0x03...0x77).contains(address) else {
            throw BusError(
                kind: .other, errno: 0, operation: "open \(label)",
                hint: "0x\(Self.hex(address)) is not a 7-bit device address (0x03...0x77).")
        }
        let kernel = adapter.kernel
        let fd = try LinuxI2CAdapter.openFile(adapter.path, kernel: kernel)
        let rc = kernel.setSlaveAddress(fd, address)
        if rc < 0 {
            kernel.close(fd)
            let code = -rc
            let hint =
                code == EBUSY
                ? "A kernel driver already owns address 0x\(Self.hex(address)) on \(adapter.path) (see "
                    + "/sys/bus/i2c/devices/*-00\(Self.hex(address).lowercased())/driver); remove the dtoverlay or "
                    + "unbind that driver, twitchd will not force the address."
                : nil
            throw BusError(
                errno: code, operation: "ioctl I2C_SLAVE 0x\(Self.hex(address)) on \(adapter.path)",
                hint: hint)
        }
        self.address = address
        self.kernel = kernel
        self.fd = fd
        self.name = label
        self.functionality = adapter.functionality
        self.maxBurstLength = adapter.maxBurstLength
        self.useRDWRForBursts = adapter.usesRepeatedStart
        self.useRDWRForBytes = !adapter.functionality.isSuperset(of: [
            .smbusReadByteData, .smbusWriteByteData,
        ])
        messages = .allocate(capacity: 2)
        messages.initialize(repeating: i2c_msg(), count: 2)
        scratch = .allocate(capacity: 2)
        scratch.initialize(repeating: 0, count: 2)
    }

    deinit {
        kernel.close(fd)
        messages.deinitialize(count: 2)
        messages.deallocate()
        scratch.deinitialize(count: 2)
        scratch.deallocate()
    }

    public func readRegister(_ register: UInt8) throws(BusError) -> UInt8 {
        if useRDWRForBytes {
            var value: UInt8 = 0
            try withUnsafeMutablePointer(to: &value) { (p) throws(BusError) in
                try repeatedStartRead(register, into: p, count: 1)
            }
            return value
        }
        let rc = kernel.smbusReadByteData(fd, register)
        if rc < 0 { throw failure(-rc, "read 0x\(Self.hex(register))") }
        return UInt8(truncatingIfNeeded: rc)
    }

    public func writeRegister(_ register: UInt8, value: UInt8) throws(BusError) {
        if useRDWRForBytes {
            scratch[0] = register
            scratch[1] = value
            messages[0] = i2c_msg(addr: UInt16(address), flags: 0, len: 2, buf: scratch)
            let rc = kernel.readWrite(fd, messages, 1)
            if rc < 0 { throw failure(-rc, "write 0x\(Self.hex(register))") }
            if rc != 1 { throw short("write 0x\(Self.hex(register))", got: Int(rc), want: 1) }
            return
        }
        let rc = kernel.smbusWriteByteData(fd, register, value)
        if rc < 0 { throw failure(-rc, "write 0x\(Self.hex(register))") }
    }

    public func readRegisters(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(BusError)
    {
        let count = buffer.count
        guard count > 0 else { return }
        guard count <= maxBurstLength else {
            throw BusError(
                kind: .unsupported, errno: 0, operation: "read 0x\(Self.hex(register)) x\(count)",
                hint: "\(name) moves at most \(maxBurstLength) bytes a transaction; split the burst.")
        }
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        if count == 1 {
            base[0] = try readRegister(register)
        } else if useRDWRForBursts {
            try repeatedStartRead(register, into: base, count: count)
        } else {
            let rc = kernel.smbusReadI2CBlockData(fd, register, UInt8(count), base)
            if Int(rc) == count { return }
            let op = "read 0x\(Self.hex(register)) x\(count)"
            if rc < 0 { throw failure(-rc, op) }
            throw short(op, got: Int(rc), want: count)
        }
    }

    /// Writes the register address, then reads `count` bytes after a repeated start: one
    /// `I2C_RDWR` call with two messages, no STOP in between.
    private func repeatedStartRead(
        _ register: UInt8, into base: UnsafeMutablePointer<UInt8>, count: Int
    ) throws(BusError) {
        scratch[0] = register
        messages[0] = i2c_msg(addr: UInt16(address), flags: 0, len: 1, buf: scratch)
        messages[1] = i2c_msg(addr: UInt16(address), flags: UInt16(I2C_M_RD), len: UInt16(count), buf: base)
        let rc = kernel.readWrite(fd, messages, 2)
        if rc == 2 { return }
        // Error path only: the strings are built here, never per successful transfer.
        let op = count == 1 ? "read 0x\(Self.hex(register))" : "read 0x\(Self.hex(register)) x\(count)"
        if rc < 0 { throw failure(-rc, op) }
        throw short(op, got: Int(rc), want: 2)
    }

    private func failure(_ code: Int32, _ operation: String) -> BusError {
        BusError(errno: code, operation: "\(operation) on \(name)")
    }

    private func short(_ operation: String, got: Int, want: Int) -> BusError {
        BusError(
            kind: .shortTransfer, errno: 0, operation: "\(operation) on \(name)",
            hint: "got \(got) of \(want)")
    }

    static func hex(_ v: UInt8) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }
}
