import Foundation
import TestSupport
import Testing

/// Runs `command` through /bin/sh with `$T` set to the twitchd binary (for redirections such as
/// `> /dev/full` and pipes such as `| head`).
func shell(_ command: String) throws -> Run {
    guard let binary = twitchdBinary() else { throw CLIError("the twitchd executable was not found") }
    return try runCapturing(
        URL(fileURLWithPath: "/bin/sh"), ["-c", command], environment: ["T": binary.path])
}

/// Issue 10's crashes reproduced with their exact commands, output that cannot be written, and
/// issue 9's tolerant reading, through the built executable.
@Suite("twitchd input hardening", .serialized)
struct InputHardeningCLITests {
    let dir: URL

    init() throws { dir = try temporaryDirectory() }

    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test func issue10CrashesAreGone() throws {
        let a = try write("a.csv", "# start_unix=1e16\ntime_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n")
        for format in ["text", "jsonl", "csv"] {
            let r = try twitchd(["replay", "--format", format, a])
            #expect(r.status == 65, "\(format): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("a.csv:1: start_unix"))
        }
        let b = try write("b.csv", "time_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n0.02,0,0,1\n1e19,0,0,1\n")
        let rb = try twitchd(["replay", b])
        #expect(rb.status == 0, "\(rb.stderr)")
        #expect(rb.stdout.contains("summary of"))
        for rate in ["nan", "inf", "1e30", "-5"] {
            let r = try twitchd(["demo", "--rate", rate, "--duration", "1s"])
            #expect(r.status == 64, "--rate \(rate): \(r.status)")
            #expect(r.stderr.contains("--rate"))
        }
        for command in [
            ["simulate", "-o", dir.appendingPathComponent("x.csv").path], ["demo"],
            ["record", "-o", "/dev/null", "--bus", "sim:lis3dh"],
        ] {
            let r = try twitchd(command + ["--duration", "1e17"])
            #expect(r.status == 64, "\(command[0]): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("--duration"))
        }
    }

    /// /dev/full must be the kernel's full device (a process elsewhere on a shared machine once
    /// replaced it with a regular file, which makes every write succeed).
    static var devFullIsTheDevice: Bool {
        var st = stat()
        return stat("/dev/full", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
    }

    @Test(
        .enabled(
            if: Prerequisite.met(devFullIsTheDevice), "/dev/full is not the kernel's character device here"))
    func aFailedWriteIsExit74AndAClosedPipeIsQuiet() throws {
        try #require(Self.devFullIsTheDevice, "/dev/full is not the kernel's character device here")
        let trace = dir.appendingPathComponent("s.csv").path
        #expect(try twitchd(["simulate", "--duration", "30s", "-o", trace]).status == 0)
        for format in ["text", "jsonl", "csv"] {
            let r = try shell("\"$T\" replay --format \(format) '\(trace)' > /dev/full")
            #expect(r.status == 74, "\(format): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("No space left on device"))
        }
        let sim = try shell("\"$T\" simulate --duration 5s > /dev/full")
        #expect(sim.status == 74)
        let labels = try shell("\"$T\" simulate --duration 5s -o '\(dir.path)/l.csv' --labels /dev/full")
        #expect(labels.status == 74, "\(labels.stderr)")
        let config = try write("c.toml", "[[sensor]]\nbus = \"sim:adxl355\"\nlocation = \"calf\"\n")
        let check = try shell("\"$T\" config check '\(config)' > /dev/full")
        #expect(check.status == 74)
        #expect(check.stderr.contains("twitchd config check: writing standard output failed"))
        let probe = try shell("\"$T\" probe --bus sim:adxl355 > /dev/full")
        #expect(probe.status == 74)
        // `| head`: the reader goes away; replay stops without a word and without an error.
        let piped = try shell(
            "\"$T\" replay --format jsonl '\(trace)' '\(trace)' '\(trace)' | head -c 1 >/dev/null")
        #expect(!piped.stderr.contains("failed"), "\(piped.stderr)")
    }

    @Test func damagedRowsAreSkippedAndSaid() throws {
        var text = "time_s,ax_g,ay_g,az_g\n"
        for i in 0..<3000 {
            let t = Double(i) / 200
            text += "\(t),0.01,0.02,0.99\n"
            if i % 500 == 7 { text += "\(t),0.01,0.02,0.99\n" }  // duplicate stamp
            if i % 700 == 9 { text += "\(t + 0.001),nan,0.02,0.99\n" }
        }
        let path = try write("d.csv", text)
        let r = try twitchd(["replay", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "11 rows skipped: 6 duplicate timestamps (first at line 10), 5 empty or NaN cells (first at line 13)"
            ))
        #expect(r.stdout.contains("skipped      11 rows skipped"))
        let strict = try twitchd(["replay", "--strict", path])
        #expect(strict.status == 65)
        #expect(strict.stderr.contains("d.csv:10:"))
    }

    @Test func unitsAreDecidedAndSaid() throws {
        var text = "time,x,y,z\n"
        for i in 0..<2000 { text += "\(Double(i) / 100),0.3,0.5,9.7\n" }
        let path = try write("u.csv", text)
        let r = try twitchd(["replay", path])
        #expect(r.status == 0)
        #expect(r.stderr.contains("gravity in m/s^2"), "\(r.stderr)")
        let forced = try twitchd(["replay", "--units", "g", path])
        #expect(forced.stderr.contains("units g as given (--units)"))
        #expect(try twitchd(["replay", "--units", "furlongs", path]).status == 64)
    }
}
