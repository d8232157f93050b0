import CI2C
import Foundation
import TestSupport
import Testing

@testable import SensorBus

@Suite("LinuxI2CAdapter: open, functionality, errors")
struct LinuxI2CAdapterTests {
    @Test("a missing /dev/i2c-N is noSuchBus with how to enable I2C")
    func missingBusDevice() throws {
        let path = "/dev/i2c-\(Int.random(in: 200...250))"
        #expect(!FileManager.default.fileExists(atPath: path))
        // Caught by hand: Swift 6.0's #expect(throws:) returns nothing (the Pi's swiftlang).
        var caught: BusError?
        do { _ = try LinuxI2CAdapter(path: path) } catch { caught = error }
        let e = try #require(caught)
        #expect(e.kind == .noSuchBus)
        #expect(e.errno == ENOENT)
        #expect(e.description.contains(path))
        #expect(e.description.contains("dtparam=i2c_arm=on"))
        #expect(e.description.contains("modprobe i2c-dev"))
        #expect(!e.isTransient)
    }

    @Test("a file that is not an i2c-dev node fails I2C_FUNCS with ENOTTY and says so")
    func notAnI2CDevice() throws {
        let path = NSTemporaryDirectory() + "twitchd-not-i2c-\(UInt32.random(in: 0...UInt32.max))"
        #expect(FileManager.default.createFile(atPath: path, contents: Data([0])))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let e = try #require(thrown(BusError.self) { try LinuxI2CAdapter(path: path) })
        #expect(e.kind == .unsupported)
        #expect(e.errno == ENOTTY)
        #expect(e.description.contains("I2C_FUNCS"))
        #expect(e.description.contains("not an i2c-dev"))
    }

    @Test("EACCES is permissionDenied naming the i2c group")
    func permissionDenied() throws {
        let kernel = FakeI2CKernel(funcs: Funcs.raspberryPi)
        kernel.openErrno = EACCES
        let e = try #require(
            thrown(BusError.self) {
                try LinuxI2CAdapter(
                    path: "/dev/i2c-1", burstMode: .automatic, maxRepeatedStartLength: 192, kernel: kernel)
            })
        #expect(e.kind == BusError.Kind.permissionDenied)
        #expect(e.errno == EACCES)
        #expect(e.description.contains("`i2c` group"))
        #expect(e.description.contains("/dev/i2c-1"))
    }

    @Test("the functionality constants match <linux/i2c.h>")
    func functionalityBits() {
        #expect(I2CFunctionality.i2c.rawValue == UInt(I2C_FUNC_I2C))
        #expect(I2CFunctionality.smbusReadByteData.rawValue == UInt(I2C_FUNC_SMBUS_READ_BYTE_DATA))
        #expect(I2CFunctionality.smbusWriteByteData.rawValue == UInt(I2C_FUNC_SMBUS_WRITE_BYTE_DATA))
        #expect(I2CFunctionality.smbusReadBlockData.rawValue == UInt(I2C_FUNC_SMBUS_READ_BLOCK_DATA))
        #expect(I2CFunctionality.smbusReadI2CBlock.rawValue == UInt(I2C_FUNC_SMBUS_READ_I2C_BLOCK))
        #expect(I2CFunctionality.smbusWriteI2CBlock.rawValue == UInt(I2C_FUNC_SMBUS_WRITE_I2C_BLOCK))
        // The Pi cannot do SMBus block reads; the description must not claim it can.
        let pi = I2CFunctionality(rawValue: Funcs.raspberryPi)
        #expect(!pi.contains(I2CFunctionality.smbusReadBlockData))
        #expect(!pi.description.contains("SMBus read block data"))
        #expect(pi.description.contains("SMBus read I2C block"))
    }

    @Test(
        "I2C_FUNCS decides the burst path and its length",
        arguments: [
            (Funcs.raspberryPi, I2CBurstMode.automatic, true, 192),
            (Funcs.raspberryPi, I2CBurstMode.smbusBlock, false, 32),
            (Funcs.raspberryPi, I2CBurstMode.repeatedStart, true, 192),
            (Funcs.smbusOnly, I2CBurstMode.automatic, false, 32),
            (Funcs.byteDataOnly, I2CBurstMode.automatic, false, 1),
            (Funcs.i2cOnly, I2CBurstMode.automatic, true, 192),
        ])
    func burstPath(funcs: UInt, mode: I2CBurstMode, rdwr: Bool, maxBurst: Int) throws {
        let kernel = FakeI2CKernel(funcs: funcs)
        let adapter = try LinuxI2CAdapter(
            path: "/dev/i2c-1", burstMode: mode, maxRepeatedStartLength: 192, kernel: kernel)
        #expect(adapter.usesRepeatedStart == rdwr)
        #expect(adapter.maxBurstLength == maxBurst)
        #expect(adapter.functionality.rawValue == funcs)
        // Open reads I2C_FUNCS once and closes its probe descriptor.
        #expect(kernel.calls == ([.open("/dev/i2c-1"), .functionality(3), .close(3)] as [Call]))
        #expect(kernel.openFDs.isEmpty)
        let dev = try adapter.device(at: 0x53)
        #expect(dev.maxBurstLength == maxBurst)
    }

    @Test("repeated start on an SMBus-only adapter, or an adapter that can do nothing, is unsupported")
    func unsupportedAdapters() throws {
        let smbus = FakeI2CKernel(funcs: Funcs.smbusOnly)
        let e1 = try #require(
            thrown(BusError.self) {
                try LinuxI2CAdapter(
                    path: "/dev/i2c-0", burstMode: .repeatedStart, maxRepeatedStartLength: 192, kernel: smbus)
            })
        #expect(e1.kind == .unsupported)
        #expect(e1.description.contains("I2C_FUNC_I2C"))
        let none = FakeI2CKernel(funcs: UInt(I2C_FUNC_SMBUS_QUICK))
        let e2 = try #require(
            thrown(BusError.self) {
                try LinuxI2CAdapter(
                    path: "/dev/i2c-0", burstMode: .automatic, maxRepeatedStartLength: 192, kernel: none)
            })
        #expect(e2.kind == .unsupported)
        #expect(none.openFDs.isEmpty)
    }

    @Test("availableBuses lists i2c-N files sorted by number")
    func listsBuses() throws {
        let dir = NSTemporaryDirectory() + "twitchd-dev-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["i2c-10", "i2c-2", "i2c-x", "gpiochip0", "i2c-1"] {
            #expect(FileManager.default.createFile(atPath: dir + "/" + name, contents: nil))
        }
        #expect(LinuxI2CAdapter.availableBuses(in: dir) == [dir + "/i2c-1", dir + "/i2c-2", dir + "/i2c-10"])
        #expect(LinuxI2CAdapter.availableBuses(in: dir + "/missing").isEmpty)
    }
}

@Suite("LinuxI2CBus: request building")
struct LinuxI2CBusRequestTests {
    func adapter(_ funcs: UInt, _ mode: I2CBurstMode = .automatic, maxRDWR: Int = 192) throws -> (
        FakeI2CKernel, LinuxI2CAdapter
    ) {
        let kernel = FakeI2CKernel(funcs: funcs)
        let a = try LinuxI2CAdapter(
            path: "/dev/i2c-1", burstMode: mode, maxRepeatedStartLength: maxRDWR, kernel: kernel)
        kernel.calls.removeAll()
        return (kernel, a)
    }

    @Test(
        "device(at:) opens its own descriptor and sets I2C_SLAVE to the address",
        arguments: [0x1D, 0x53, 0x68] as [UInt8])
    func setsSlaveAddress(address: UInt8) throws {
        let (kernel, a) = try adapter(Funcs.raspberryPi)
        var dev: (any SensorBus)? = try a.device(at: address)
        #expect(kernel.calls == ([.open("/dev/i2c-1"), .setSlave(fd: 4, address: address)] as [Call]))
        #expect(dev?.address == address)
        #expect(dev?.name == "/dev/i2c-1@0x" + String(address, radix: 16, uppercase: true).leftPadded(2))
        dev = nil
        #expect(kernel.calls.last == Call.close(4))
        #expect(kernel.openFDs.isEmpty)
    }

    @Test("two devices on one bus get two descriptors with their own addresses")
    func twoDevices() throws {
        let (kernel, a) = try adapter(Funcs.raspberryPi)
        let first = try a.device(at: 0x53)
        let second = try a.device(at: 0x1D)
        #expect(
            kernel.calls
                == ([
                    .open("/dev/i2c-1"), .setSlave(fd: 4, address: 0x53), .open("/dev/i2c-1"),
                    .setSlave(fd: 5, address: 0x1D),
                ] as [Call]))
        _ = try first.readRegister(0x00)
        _ = try second.readRegister(0x00)
        #expect(
            Array(kernel.calls.suffix(2))
                == ([.readByteData(fd: 4, register: 0), .readByteData(fd: 5, register: 0)] as [Call]))
    }

    @Test("EBUSY on I2C_SLAVE says a kernel driver owns the address, and the descriptor is closed")
    func addressOwnedByDriver() throws {
        let (kernel, a) = try adapter(Funcs.raspberryPi)
        kernel.slaveErrno = EBUSY
        let e = try #require(thrown(BusError.self) { try a.device(at: 0x1D) })
        #expect(e.errno == EBUSY)
        #expect(!e.isTransient)
        #expect(e.description.contains("kernel driver"))
        #expect(e.description.contains("1-001d") || e.description.contains("-001d"))
        #expect(kernel.openFDs.isEmpty)
        // Never I2C_SLAVE_FORCE: the only address call was the plain one.
        #expect(kernel.calls.filter { if case .setSlave = $0 { true } else { false } }.count == 1)
    }

    @Test(
        "addresses outside 0x03...0x77 are refused before any kernel call",
        arguments: [0x00, 0x02, 0x78, 0x80, 0xFF] as [UInt8])
    func badAddress(address: UInt8) throws {
        let (kernel, a) = try adapter(Funcs.raspberryPi)
        #expect(throws: BusError.self) { try a.device(at: address) }
        #expect(kernel.calls.isEmpty)
    }

    @Test("single registers go through SMBus byte data when the adapter has it")
    func byteDataPath() throws {
        let (kernel, a) = try adapter(Funcs.raspberryPi)
        let dev = try a.device(at: 0x53)
        kernel.registers[0x00] = 0xE5
        kernel.calls.removeAll()
        let id = try dev.readRegister(0x00)
        #expect(id == 0xE5)
        try dev.writeRegister(0x2D, value: 0x08)
        #expect(
            kernel.calls
                == ([
                    .readByteData(fd: 4, register: 0x00), .writeByteData(fd: 4, register: 0x2D, value: 0x08),
                ] as [Call]))
        #expect(kernel.registers[0x2D] == 0x08)
    }

    @Test("bursts on an SMBus adapter are I2C-block reads of exactly the length asked, at most 32")
    func smbusBlockPath() throws {
        let (kernel, a) = try adapter(Funcs.smbusOnly)
        let dev = try a.device(at: 0x18)
        kernel.calls.removeAll()
        var buf = [UInt8](repeating: 0, count: 32)
        try buf.withUnsafeMutableBytes { raw in try dev.readRegisters(0xA8, into: raw) }
        #expect(kernel.calls == ([.readI2CBlock(fd: 4, register: 0xA8, length: 32)] as [Call]))
        #expect(buf == (0..<32).map { UInt8((0xA8 + $0) % 256) })
        // One byte is a byte-data read, not a block read.
        var one = [UInt8](repeating: 0, count: 1)
        try one.withUnsafeMutableBytes { raw in try dev.readRegisters(0x0F, into: raw) }
        #expect(kernel.calls.last == Call.readByteData(fd: 4, register: 0x0F))
        #expect(one == [0x0F])
        // More than maxBurstLength is refused without touching the bus.
        kernel.calls.removeAll()
        var big = [UInt8](repeating: 0, count: 33)
        let e = try #require(
            thrown(BusError.self) {
                try big.withUnsafeMutableBytes { raw in try dev.readRegisters(0x28, into: raw) }
            })
        #expect(e.kind == .unsupported)
        #expect(kernel.calls.isEmpty)
    }

    @Test("a block read that returns fewer bytes is a shortTransfer")
    func shortBlock() throws {
        let (kernel, a) = try adapter(Funcs.smbusOnly)
        let dev = try a.device(at: 0x18)
        kernel.shortBlockLength = 5
        var buf = [UInt8](repeating: 0, count: 12)
        let e = try #require(
            thrown(BusError.self) {
                try buf.withUnsafeMutableBytes { raw in try dev.readRegisters(0xA8, into: raw) }
            })
        #expect(e.kind == .shortTransfer)
        #expect(e.isTransient)
        #expect(e.description.contains("5 of 12"))
    }

    @Test("repeated-start bursts are one I2C_RDWR: write the register, then read N with I2C_M_RD")
    func rdwrLayout() throws {
        let (kernel, a) = try adapter(Funcs.raspberryPi)
        let dev = try a.device(at: 0x1D)
        #expect(dev.maxBurstLength == 192)
        kernel.calls.removeAll()
        var buf = [UInt8](repeating: 0, count: 96)
        try buf.withUnsafeMutableBytes { raw in try dev.readRegisters(0x11, into: raw) }
        let expected: [Call] = [
            .readWrite(
                fd: 4,
                messages: [
                    Message(addr: 0x1D, flags: 0, len: 1, written: [0x11]),
                    Message(addr: 0x1D, flags: UInt16(I2C_M_RD), len: 96, written: []),
                ])
        ]
        #expect(kernel.calls == expected)
        #expect(buf == (0..<96).map { UInt8(0x11 + $0) })
        #expect(UInt16(I2C_M_RD) == 1)
    }

    @Test("an adapter without SMBus byte data does register access over I2C_RDWR")
    func byteAccessOverRDWR() throws {
        let (kernel, a) = try adapter(Funcs.i2cOnly)
        let dev = try a.device(at: 0x68)
        kernel.calls.removeAll()
        try dev.writeRegister(0x6B, value: 0x00)
        kernel.registers[0x75] = 0x68
        let whoAmI = try dev.readRegister(0x75)
        #expect(whoAmI == 0x68)
        let expected: [Call] = [
            .readWrite(fd: 4, messages: [Message(addr: 0x68, flags: 0, len: 2, written: [0x6B, 0x00])]),
            .readWrite(
                fd: 4,
                messages: [
                    Message(addr: 0x68, flags: 0, len: 1, written: [0x75]),
                    Message(addr: 0x68, flags: 1, len: 1, written: []),
                ]),
        ]
        #expect(kernel.calls == expected)
    }

    @Test("a configured repeated-start limit caps maxBurstLength")
    func rdwrLimit() throws {
        let (_, a) = try adapter(Funcs.raspberryPi, .automatic, maxRDWR: 64)
        let capped = try a.device(at: 0x53)
        #expect(capped.maxBurstLength == 64)
        let (_, huge) = try adapter(Funcs.raspberryPi, .automatic, maxRDWR: 100_000)
        #expect(huge.maxBurstLength == 8192)
    }
}

@Suite("LinuxI2CBus: errno mapping")
struct LinuxI2CErrnoTests {
    @Test(
        "every transfer keeps the errno and maps it to a kind",
        arguments: [
            (ENXIO, BusError.Kind.addressNotAcknowledged, true),
            (EIO, .busError, true),
            (EREMOTEIO, .busError, true),
            (ETIMEDOUT, .timeout, true),
            (EAGAIN, .arbitrationLost, true),
            (ENODEV, .deviceGone, true),
            (ESHUTDOWN, .deviceGone, true),
            (EOPNOTSUPP, .unsupported, false),
            (EPERM, .permissionDenied, false),
            (EINVAL, .other, false),
        ])
    func mapping(code: Int32, kind: BusError.Kind, transient: Bool) throws {
        for funcs in [Funcs.raspberryPi, Funcs.smbusOnly] {
            let kernel = FakeI2CKernel(funcs: funcs)
            let a = try LinuxI2CAdapter(
                path: "/dev/i2c-1", burstMode: .automatic, maxRepeatedStartLength: 192, kernel: kernel)
            let dev = try a.device(at: 0x53)
            kernel.transferErrnos = [code, code, code]
            var buf = [UInt8](repeating: 0, count: 6)
            let errors: [BusError?] = [
                thrown(BusError.self) { try dev.readRegister(0x30) },
                thrown(BusError.self) { try dev.writeRegister(0x2D, value: 8) },
                thrown(BusError.self) {
                    try buf.withUnsafeMutableBytes { raw in try dev.readRegisters(0x32, into: raw) }
                },
            ]
            for case let e? in errors {
                #expect(e.kind == kind)
                #expect(e.errno == code)
                #expect(e.isTransient == transient)
                #expect(e.description.contains("/dev/i2c-1@0x53"))
                #expect(e.description.contains("errno \(code)"))
            }
            #expect(errors.compactMap { $0 }.count == 3)
            // After the errors the device works again (nothing sticky).
            let after = try dev.readRegister(0x00)
            #expect(after == 0x00)
        }
    }

    @Test("BusError(errno:) gives hints only where a user can act")
    func hints() {
        #expect(BusError(errno: ENXIO, operation: "read 0x00").description.contains("address strap"))
        #expect(BusError(errno: EACCES, operation: "open").description.contains("`i2c` group"))
        #expect(BusError(errno: EIO, operation: "read 0x00").hint == nil)
        #expect(
            BusError(errno: ENXIO, operation: "x", hint: "").description
                == "x: address not acknowledged (errno \(ENXIO))")
        // The original initializer is unchanged: no hint, same description as before.
        #expect(
            BusError(kind: .busError, errno: 5, operation: "read 0x32").description
                == "read 0x32: bus error (errno 5)")
        #expect(BusError(kind: .busError, operation: "read 0x32").description == "read 0x32: bus error")
    }
}

typealias Call = FakeI2CKernel.Call
typealias Message = FakeI2CKernel.Message

extension String {
    fileprivate func leftPadded(_ n: Int) -> String {
        String(repeating: "0", count: max(0, n - count)) + self
    }
}
