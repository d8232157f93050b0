import Foundation
import Testing

/// What made a number travels with it (issue 12): `replay`'s summary names the twitchd version
/// and the sensitivity, `record` writes the version into the trace it records, and the journal's
/// start entry records both (DaemonTests).
@Suite("version and settings in replay and record output")
struct ProvenanceTests {
    @Test("replay's summary names the version and the sensitivity that counted")
    func replaySummary() throws {
        let dir = FileManager.default.temporaryDirectory
        let trace = dir.appendingPathComponent("prov-\(getpid()).csv").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let sim = try twitchd(["simulate", "--duration", "40s", "-o", trace])
        #expect(sim.status == 0, "\(sim.stderr)")
        let v = try version()
        #expect(!v.isEmpty)
        let normal = try twitchd(["replay", trace])
        #expect(normal.status == 0, "\(normal.stderr)")
        #expect(normal.stdout.contains("counted by   twitchd \(v), sensitivity 0.50"))
        let high = try twitchd(["replay", "--sensitivity", "high", trace])
        #expect(high.stdout.contains("counted by   twitchd \(v), sensitivity 0.75"))
    }

    @Test("record writes the version into the trace's metadata")
    func recordMetadata() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("prov-rec-\(getpid()).csv")
            .path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let v = try version()
        let r = try twitchd(["record", "--bus", "sim:adxl355", "--fast", "--duration", "1s", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("# recorded_by=twitchd \(v)\n"))
    }

    /// The version `twitchd --version` prints.
    func version() throws -> String {
        try twitchd(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
