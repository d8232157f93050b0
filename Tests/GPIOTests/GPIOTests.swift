import CGPIOD
import Foundation
import SensorBus
import TestSupport
import Testing

@testable import GPIO

/// A fresh empty directory, removed by the caller.
private func temporaryDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "twitchd-gpio-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func realChipsPresent() -> Bool {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
    return names.contains { $0.hasPrefix("gpiochip") }
}

@Suite("GPIO line specifications")
struct GPIOLineSpecTests {
    @Test(
        "LINE and CHIP:LINE parse",
        arguments: [
            ("GPIO17", nil, "GPIO17"),
            ("gpiochip0:17", "gpiochip0", "17"),
            ("pinctrl-bcm2711:GPIO17", "pinctrl-bcm2711", "GPIO17"),
            ("/dev/gpiochip4:GPIO27", "/dev/gpiochip4", "GPIO27"),
            ("  GPIO22 ", nil, "GPIO22"),
        ] as [(String, String?, String)])
    func parses(text: String, chip: String?, line: String) throws {
        let spec = try GPIOLineSpec(parsing: text)
        #expect(spec.chip == chip)
        #expect(spec.line == line)
        let reparsed = try GPIOLineSpec(parsing: spec.description)
        #expect(reparsed == spec)
    }

    @Test(
        "empty parts and bare offsets are refused with a suggestion",
        arguments: ["", ":", "gpiochip0:", ":17", "17"])
    func refuses(text: String) throws {
        let e = try #require(thrown(GPIOError.self) { try GPIOLineSpec(parsing: text) })
        #expect(e.kind == .invalidSpec)
        #expect(e.message.contains("GPIO17") || e.message.contains("GPIO\(text)"))
    }
}

@Suite("GPIO data-ready line without hardware")
struct GPIODataReadyLineTests {
    @Test("the build's libgpiod API matches the linked library (v1 on bookworm, v2 on trixie)")
    func apiVersion() throws {
        let version = GPIO.libgpiodVersion
        #expect(!version.isEmpty)
        #expect(GPIO.libgpiodAPIVersion == (version.hasPrefix("1.") ? 1 : 2))
        // On this machine pkg-config knows which one was installed; the build must agree.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["pkg-config", "--modversion", "libgpiod"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return }
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard p.terminationStatus == 0, let major = out.first else { return }
        #expect(GPIO.libgpiodAPIVersion == (major == "1" ? 1 : 2), "pkg-config says libgpiod \(out)")
    }

    @Test("a directory without gpiochip devices gives noChips with a clear message")
    func noChips() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = try #require(
            thrown(GPIOError.self) {
                try GPIODataReadyLine(GPIOLineSpec(line: "GPIO17"), deviceDirectory: dir)
            })
        #expect(e.kind == .noChips)
        #expect(e.message.contains(dir))
        #expect(e.message.contains("gpiochip"))
        #expect(e.message.contains("poll"))
        #expect(GPIO.describeChips(deviceDirectory: dir).isEmpty)
    }

    @Test("this machine: a missing line is noChips (no /dev/gpiochip*) or lineNotFound listing the chips")
    func thisMachine() throws {
        let e = try #require(
            thrown(GPIOError.self) { try GPIODataReadyLine(parsing: "TWITCHD_NO_SUCH_LINE_7f3a") })
        if realChipsPresent() {
            #expect(e.kind == .lineNotFound || e.kind == .permissionDenied)
            if e.kind == .lineNotFound {
                #expect(e.message.contains("TWITCHD_NO_SUCH_LINE_7f3a"))
                #expect(e.message.contains("gpiochip"))
            }
        } else {
            #expect(e.kind == .noChips)
        }
    }

    @Test("a gpiochip file that is not a GPIO chip is skipped and named in the line-not-found message")
    func notAChip() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(FileManager.default.createFile(atPath: dir + "/gpiochip0", contents: Data("x".utf8)))
        #expect(FileManager.default.createFile(atPath: dir + "/gpiochip10", contents: Data("x".utf8)))
        let e = try #require(
            thrown(GPIOError.self) { try GPIODataReadyLine(parsing: "GPIO17", deviceDirectory: dir) }
        )
        #expect(e.kind == .lineNotFound)
        #expect(e.message.contains("no line 'GPIO17' on any chip"))
        #expect(e.message.contains("gpiochip0: cannot open"))
        // Chips are listed in numeric order.
        let listing = GPIO.describeChips(deviceDirectory: dir)
        #expect(
            listing.components(separatedBy: "\n").filter { !$0.isEmpty }.map { $0.prefix(11) } == [
                "gpiochip0: ", "gpiochip10:",
            ])

        let byChip = try #require(
            thrown(GPIOError.self) {
                try GPIODataReadyLine(parsing: "pinctrl-bcm2711:GPIO17", deviceDirectory: dir)
            })
        #expect(byChip.kind == .chipNotFound)
        #expect(byChip.message.contains("pinctrl-bcm2711"))
    }

    @Test("open errors map to kinds with advice: EACCES names the gpio group, EBUSY says who to ask")
    func openErrors() {
        let spec = GPIOLineSpec(line: "GPIO17")
        let denied = GPIODataReadyLine.openError(
            TWITCHD_GPIO_SYSTEM_ERROR, errno: EACCES, spec: spec, deviceDirectory: "/dev")
        #expect(denied.kind == .permissionDenied)
        #expect(denied.errno == EACCES)
        #expect(denied.message.contains("`gpio` group"))
        let busy = GPIODataReadyLine.openError(
            TWITCHD_GPIO_SYSTEM_ERROR, errno: EBUSY, spec: spec, deviceDirectory: "/dev")
        #expect(busy.kind == .lineBusy)
        #expect(busy.message.contains("gpioinfo"))
        let other = GPIODataReadyLine.openError(
            TWITCHD_GPIO_SYSTEM_ERROR, errno: EIO, spec: spec, deviceDirectory: "/dev")
        #expect(other.kind == .system)
        #expect(other.errno == EIO)
    }

    @Test("as an InterruptLine, GPIO failures become BusErrors that keep errno and advice")
    func busErrors() {
        let e = GPIOError(kind: .permissionDenied, errno: EACCES, message: "join `gpio`").busError
        #expect(e.kind == .permissionDenied)
        #expect(e.errno == EACCES)
        #expect(e.description.contains("join `gpio`"))
        #expect(GPIOError(kind: .lineNotFound, message: "x").busError.kind == .deviceGone)
        #expect(GPIOError(kind: .lineBusy, errno: EBUSY, message: "x").busError.kind == .other)
    }
}

@Suite("CGPIOD shim compiles against both libgpiod APIs")
struct GPIOShimCompileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let cc = ["/usr/bin/cc", "/bin/cc"].contains { (p: String) in access(p, X_OK) == 0 }
    static let systemV1 =
        FileManager.default.fileExists(atPath: "/usr/include/gpiod.h") && GPIO.libgpiodAPIVersion == 1

    /// Runs a C compiler; nil when none is installed.
    func compile(_ extra: [String]) -> (Int32, String)? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let shim = Self.root.appendingPathComponent("Sources/CGPIOD")
        p.arguments =
            ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror"] + extra + [
                "-I", shim.appendingPathComponent("include").path, shim.appendingPathComponent("gpio.c").path,
            ]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        guard (try? p.run()) != nil else { return nil }
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return p.terminationStatus == 127 ? nil : (p.terminationStatus, out)
    }

    @Test(
        "v2: type-checks against the libgpiod 2.x declarations and uses the v2 calls",
        .enabled(if: Prerequisite.met(cc), "needs a C compiler (cc)"))
    func v2() throws {
        let stub = Self.root.appendingPathComponent("Tests/GPIOTests/Fixtures/gpiod-v2").path
        let (rc, out) = try #require(compile(["-fsyntax-only", "-I", stub]), "no C compiler (cc) on PATH")
        #expect(rc == 0, "\(out)")
        let (erc, expanded) = try #require(compile(["-E", "-I", stub]))
        #expect(erc == 0)
        // The shim's own calls (not just the header's declarations) are the v2 ones.
        #expect(expanded.contains("gpiod_chip_request_lines(l->chip, req_cfg, line_cfg)"))
        #expect(expanded.contains("gpiod_line_request_wait_edge_events(l->request, timeout_ns)"))
        #expect(!expanded.contains("gpiod_line_request_rising_edge_events"))
    }

    /// Runs only where the system's libgpiod is 1.x (Debian bookworm, Raspberry Pi OS 12); on a
    /// 2.x system it is reported skipped, not passed.
    @Test(
        "v1: the system header (libgpiod 1.6 here) selects the v1 calls",
        .enabled(if: systemV1, "the installed libgpiod is not v1"),
        .enabled(if: Prerequisite.met(cc), "needs a C compiler (cc)"))
    func v1() throws {
        let (rc, expanded) = try #require(compile(["-E"]), "no C compiler (cc) on PATH")
        #expect(rc == 0)
        #expect(expanded.contains("gpiod_line_request_rising_edge_events(line, consumer)"))
        #expect(expanded.contains("gpiod_line_event_read_multiple(l->line, events"))
        #expect(!expanded.contains("gpiod_chip_request_lines(l->chip"))
    }
}
