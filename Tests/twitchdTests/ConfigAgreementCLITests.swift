import Foundation
import Sensors
import Testing

/// `twitchd config check FILE` and `twitchd run --config FILE` refuse the same configurations
/// with the same messages (file, line and key), generated from the chip registry.
@Suite("config check and run agree", .serialized)
struct ConfigAgreementCLITests {
    static func write(_ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "twitchd-agree-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("c\(UInt32.random(in: 0...UInt32.max)).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Invalid configurations: each chip at an address it cannot answer at and with a rate it
    /// cannot do; two sensors on one GPIO line; two `auto` sensors on one bus; rate 1 on a
    /// simulated bus.
    static var invalid: [String] {
        var out: [String] = []
        for row in ChipRegistry.all {
            if let a = ChipRegistry.addresses.first(where: { !row.kind.addresses.contains($0) }) {
                out.append(
                    "[[sensor]]\nbus = \"/dev/i2c-1\"\nchip = \"\(row.name)\"\naddress = \(a)\nlocation = \"a\"\n"
                )
            }
            let fastest = row.kind.supportedRates.max() ?? 1000
            out.append("[[sensor]]\nbus = \"sim:\(row.name)\"\nrate = \(fastest + 1)\nlocation = \"a\"\n")
        }
        out.append(
            "[[sensor]]\nbus = \"/dev/i2c-1\"\naddress = 0x53\ninterrupt = \"GPIO17\"\nlocation = \"a\"\n"
                + "[[sensor]]\nbus = \"/dev/i2c-1\"\naddress = 0x18\ninterrupt = \"GPIO17\"\nlocation = \"b\"\n"
        )
        out.append(
            "[[sensor]]\nbus = \"/dev/i2c-1\"\nlocation = \"a\"\n[[sensor]]\nbus = \"/dev/i2c-1\"\nlocation = \"b\"\n"
        )
        out.append("[[sensor]]\nbus = \"sim:lis3dh\"\nrate = 1\nlocation = \"a\"\n")
        return out
    }

    @Test("both exit 78 with the same issues, each naming file, line and key")
    func sameVerdict() throws {
        for text in Self.invalid {
            let path = try Self.write(text)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let check = try twitchd(["config", "check", path])
            let run = try twitchd(["run", "--config", path, "--state-directory", NSTemporaryDirectory()])
            #expect(check.status == 78, "\(text)")
            #expect(run.status == 78, "\(text)")
            let checkIssues = check.stderr.split(separator: "\n").filter { $0.hasPrefix(path + ":") }
            let runIssues = run.stderr.split(separator: "\n").filter {
                $0.hasPrefix("twitchd: " + path + ":")
            }
            .map { $0.dropFirst("twitchd: ".count) }
            #expect(!checkIssues.isEmpty)
            #expect(checkIssues == runIssues, "\(text)")
            // file:line: sensor[N].key: message
            for issue in checkIssues {
                let rest = issue.dropFirst(path.count + 1)
                #expect(rest.first?.isNumber == true && rest.contains(": sensor["), "\(issue)")
            }
        }
    }
}
