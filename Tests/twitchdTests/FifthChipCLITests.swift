import Foundation
import Testing

/// The fifth chip through the command line: probe, record and config check on `sim:lsm6dso`
/// (run is covered in-process by SensorsTests' daemon run over every registry chip).
@Suite("sim:lsm6dso through the command line", .serialized)
struct FifthChipCLITests {
    @Test("probe finds the LSM6DSO at 0x6a and its self-test passes")
    func probe() throws {
        let r = try twitchd(["probe", "--bus", "sim:lsm6dso"])
        #expect(r.status == 0, "\(r.stderr)")
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("  0x6a") } ?? ""
        #expect(line.contains("LSM6DSO"))
        #expect(line.contains("self-test: pass"))
    }

    @Test("record writes a trace at the LSM6DSO's rate, nothing lost")
    func record() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lsm6dso-\(getpid()).csv")
            .path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try twitchd([
            "record", "--bus", "sim:lsm6dso", "--fast", "--duration", "2s", "--rate", "833", "-o", out,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("LSM6DSO 833 Hz"))
        #expect(r.stderr.contains("lost 0 samples"))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("# sensor=lsm6dso"))
        #expect(text.contains("# address=0x6a"))
    }

    @Test("config check knows its rates and addresses")
    func configCheck() throws {
        let dir = FileManager.default.temporaryDirectory
        let good = dir.appendingPathComponent("lsm-good-\(getpid()).toml").path
        let bad = dir.appendingPathComponent("lsm-bad-\(getpid()).toml").path
        defer {
            try? FileManager.default.removeItem(atPath: good)
            try? FileManager.default.removeItem(atPath: bad)
        }
        try "[[sensor]]\nbus = \"sim:lsm6dso\"\nrate = 1666\nrange = 16\nlocation = \"thigh\"\n".write(
            toFile: good, atomically: true, encoding: .utf8)
        try
            "[[sensor]]\nbus = \"/dev/i2c-1\"\nchip = \"lsm6dsox\"\naddress = 0x68\nrate = 400\nlocation = \"thigh\"\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let ok = try twitchd(["config", "check", good])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("1666"))
        let refused = try twitchd(["config", "check", bad])
        #expect(refused.status == 78)
        #expect(refused.stderr.contains(":4: sensor[0].address: a LSM6DSO answers at 0x6a or 0x6b, not 0x68"))
        #expect(refused.stderr.contains(":5: sensor[0].rate: no LSM6DSO runs at 400 Hz"))
    }
}
