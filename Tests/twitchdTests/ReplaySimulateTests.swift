import Foundation
import Testing

/// End-to-end tests of `twitchd simulate` and `twitchd replay`, run on the built executable.
@Suite("twitchd replay and simulate", .serialized)
struct ReplaySimulateTests {
    let dir: URL

    init() throws { dir = try temporaryDirectory() }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func simulate(_ name: String, _ extra: [String] = []) throws -> String {
        let out = path(name)
        let r = try twitchd(["simulate", "-o", out, "--duration", "60s"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    @Test func simulateIsDeterministicAndWritesLabels() throws {
        let a = try simulate("a.csv.gz", ["--seed", "7"])
        let b = try simulate("b.csv.gz", ["--seed", "7"])
        let c = try simulate("c.csv.gz", ["--seed", "8"])
        let da = try Data(contentsOf: URL(fileURLWithPath: a))
        let db = try Data(contentsOf: URL(fileURLWithPath: b))
        let dc = try Data(contentsOf: URL(fileURLWithPath: c))
        #expect(da == db)
        #expect(da != dc)
        let labels =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: path("a.truth.json")))) as? [String: Any]
        #expect(labels?["twitches"] is [Any])
        #expect(labels?["segments"] is [Any])
        #expect(labels?["floor_mg"] is Double)
    }

    @Test func simulateToStandardOutput() throws {
        let r = try twitchd(["simulate", "--duration", "2s", "--rate", "100", "--sensor", "adxl355"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.contains("# sensor=adxl355"))
        #expect(lines.contains("time_s,ax_g,ay_g,az_g"))
        #expect(lines.count > 190 && lines.count < 220)
        let badSensor = try twitchd(["simulate", "--sensor", "nope"])
        let badDuration = try twitchd(["simulate", "--duration", "soon"])
        let badOutput = try twitchd(["simulate", "-o", "/nonexistent-dir/x.csv"])
        #expect(badSensor.status == 64)
        #expect(badDuration.status == 64)
        #expect(badOutput.status == 73)
    }

    @Test func replayJSONLinesOnASimulatedTrace() throws {
        let trace = try simulate(
            "r.csv.gz", ["--start-time", "2026-11-26T23:00:00Z", "--location", "left-calf"])
        let r = try twitchd(["replay", "--format", "jsonl", trace])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "no progress or chatter when stderr is not a terminal: \(r.stderr)")
        #expect(r.stdout.isEmpty || r.stdout.hasSuffix("\n"))
        for e in try jsonLines(r.stdout) {
            for key in ["offset_s", "time", "duration_ms", "peak_mg", "axis", "freq_hz", "snr", "confidence"]
            {
                #expect(e[key] != nil, "missing \(key)")
            }
            #expect(e["location"] as? String == "left-calf")
            #expect(e["file"] == nil)
            #expect((e["time"] as? String)?.hasPrefix("2026-11-2") == true)
        }
        let two = try twitchd(["replay", "--format", "jsonl", "--location", "arm", trace, trace])
        #expect(two.status == 0)
        for e in try jsonLines(two.stdout) {
            #expect(e["file"] as? String == trace)
            #expect(e["location"] as? String == "arm")
        }
    }

    @Test func replayTextAndCSV() throws {
        let trace = try simulate("t.csv")
        let text = try twitchd(["replay", trace])
        #expect(text.status == 0)
        #expect(text.stdout.contains("summary of \(trace)"))
        #expect(text.stdout.contains("twitches"))
        #expect(text.stdout.contains("at rest"))
        let csv = try twitchd(["replay", "--format", "csv", trace])
        #expect(csv.status == 0)
        #expect(
            csv.stdout.hasPrefix("offset_s,time,duration_ms,peak_mg,axis,freq_hz,snr,confidence,location\n"))
    }

    @Test func badInputGetsAClearMessageAndExitStatus() throws {
        let good = try simulate("g.csv")
        let cases: [(String, String, Int32, String)] = [
            ("empty.csv", "", 65, "empty"),
            ("header.csv", "a,b,c,d\n1,2,3,4\n", 65, "header.csv:1:"),
            ("cell.csv", "time_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n0.02,0,abc,1\n", 65, "cell.csv:4:"),
            ("nan.csv", "time_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n0.02,NaN,0,1\n", 65, "nan.csv:4:"),
            ("back.csv", "time_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n0.005,0,0,1\n", 65, "back.csv:4:"),
        ]
        for (name, text, status, message) in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
            // NaN cells and backward steps are refused only when reading strictly.
            let strict = name == "nan.csv" || name == "back.csv" ? ["--strict"] : []
            let r = try twitchd(["replay", "--format", "jsonl"] + strict + [path(name)])
            #expect(r.status == status, "\(name): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(message), "\(name): \(r.stderr)")
            #expect(r.stdout.isEmpty || r.stdout.hasSuffix("\n"))
        }
        let missing = try twitchd(["replay", path("missing.csv")])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("missing.csv"))
        // Truncated gzip: the samples before the cut are used, then exit 65.
        let gz = try simulate("cut.csv.gz")
        let data = try Data(contentsOf: URL(fileURLWithPath: gz))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path("half.csv.gz")))
        let cut = try twitchd(["replay", "--format", "jsonl", path("half.csv.gz")])
        #expect(cut.status == 65)
        #expect(cut.stderr.contains("half.csv.gz:"))
        #expect(cut.stderr.contains("gzip"))
        _ = try jsonLines(cut.stdout)
        // One bad file among good ones: the good ones are still replayed, the status reports it.
        let mixed = try twitchd(["replay", good, path("missing.csv"), good])
        #expect(mixed.status == 66)
        #expect(mixed.stdout.components(separatedBy: "summary of").count == 3)
        let badSensitivity = try twitchd(["replay", "--sensitivity", "extreme", good])
        #expect(badSensitivity.status == 64)
    }

    @Test func phyphoxExportsAreReplayed() throws {
        var text =
            "\"Time (s)\",\"Acceleration x (m/s^2)\",\"Acceleration y (m/s^2)\",\"Acceleration z (m/s^2)\"\n"
        var t = 0.000319
        for i in 0..<4000 {
            text += "\(t),\(Double(i % 5) * 1e-2),1.6E+00,9.59E+00\n"
            t += 0.005 + Double(i % 3 - 1) * 4e-4
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path("phone.csv")))
        let r = try twitchd(["replay", path("phone.csv")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("phyphox"))
        #expect(r.stdout.contains("200.0 Hz"))
    }

    @Test func replayReadsStandardInput() throws {
        let trace = try simulate("in.csv.gz")
        let direct = try twitchd(["replay", "--format", "jsonl", trace])
        let piped = try twitchd(["replay", "--format", "jsonl", "-"], stdin: trace)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == direct.stdout)
    }

    @Test func helpTeaches() throws {
        for command in ["replay", "simulate"] {
            let r = try twitchd([command, "--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("Examples"))
            #expect(r.stdout.contains("Exit status"))
        }
    }
}
