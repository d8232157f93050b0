import Foundation
import Testing

/// The repository root (for docs/ and scripts/), from this file's path.
func repositoryRoot(file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}

/// Writes a generic CSV at `rate` Hz for `seconds`, gravity on z with a little noise; a hole of
/// `gap` seconds in the middle when given.
func writeCSV(_ url: URL, rate: Double, seconds: Double, gap: Double = 0) throws {
    var s = "# start_time=2026-11-26T23:00:00Z\ntime_s,ax_g,ay_g,az_g\n"
    var rng = SystemRandomNumberGenerator()
    let n = Int(rate * seconds)
    for i in 0..<n {
        var t = Double(i) / rate
        if gap > 0, i >= n / 2 { t += gap }
        let noise = { Double.random(in: -0.001...0.001, using: &rng) }
        s += "\(t),\(noise()),\(noise()),\(1 + noise())\n"
    }
    try Data(s.utf8).write(to: url)
}

@Suite("replay --summary")
struct ReplaySummaryTests {
    @Test func oneRowPerFileOverAFolderInParallelInInputOrder() throws {
        let dir = try temporaryDirectory()
        let sub = dir.appendingPathComponent("night2")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let paths = [
            dir.appendingPathComponent("a.csv.gz").path, sub.appendingPathComponent("c.csv.gz").path,
        ]
        for (k, p) in paths.enumerated() {
            let r = try twitchd(["simulate", "--duration", "\(2 + k)m", "--seed", "\(k + 3)", "-o", p])
            #expect(r.status == 0, "\(r.stderr)")
        }
        try Data("not a recording".utf8).write(to: dir.appendingPathComponent("notes.md"))
        let r = try twitchd(["replay", "--summary", "json", "--jobs", "2", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try jsonLines(r.stdout)
        #expect(rows.map { $0["file"] as? String } == paths)
        let version = try twitchd(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!version.isEmpty)
        for (row, path) in zip(rows, paths) {
            // The same twitches as the event replay of that file.
            let events = try jsonLines(try twitchd(["replay", "--format", "jsonl", path]).stdout)
            #expect(row["twitches"] as? Int == events.count)
            #expect(row["format"] as? String == "csv")
            #expect(row["complete"] as? Bool == true)
            #expect(row["twitchd_version"] as? String == version)
            let peaks = events.compactMap { $0["peak_mg"] as? Double }.sorted()
            if !peaks.isEmpty {
                let median = peaks[Int((0.5 * Double(peaks.count)).rounded(.up)) - 1]
                #expect(abs((row["peak_mg_median"] as? Double ?? -1) - median) < 0.006)
            }
            let total = ["rest_s", "active_s", "not_worn_s", "gap_s"].compactMap { row[$0] as? Double }
                .reduce(0, +)
            #expect(abs(total - (row["duration_s"] as? Double ?? 0)) < 0.5)
        }
        // CSV: a header and one row per file, with the same columns.
        let csv = try twitchd(["replay", "--summary", "csv", "--jobs", "1", paths[1], paths[0]])
        #expect(csv.status == 0)
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("file,format,device,serial,start,end,") == true)
        #expect(lines[1].hasPrefix(paths[1] + ",csv,"))
        #expect(lines[2].hasPrefix(paths[0] + ",csv,"))
    }

    @Test func aRecordingUnder50HzReportsRestAndActivityAndSaysWhyNoTwitches() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("slow.csv")
        try writeCSV(url, rate: 25, seconds: 600)
        let r = try twitchd(["replay", "--summary", "json", url.path])
        #expect(r.status == 0, "\(r.stderr)")
        let row = try #require(try jsonLines(r.stdout).first)
        #expect(row["twitches"] is NSNull)
        #expect((row["twitches_not_counted"] as? String)?.contains("below the 50 Hz") == true)
        let observed = ["rest_s", "active_s", "not_worn_s"].compactMap { row[$0] as? Double }.reduce(0, +)
        #expect(observed > 590)
        let text = try twitchd(["replay", url.path])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("25.0 Hz is below the 50 Hz twitch detection needs"))
        #expect(text.stdout.contains("at rest"))
    }

    @Test func aHoleInTheTimestampsIsGapTime() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("gap.csv")
        try writeCSV(url, rate: 100, seconds: 240, gap: 90)
        let r = try twitchd(["replay", "--summary", "json", url.path])
        #expect(r.status == 0, "\(r.stderr)")
        let row = try #require(try jsonLines(r.stdout).first)
        #expect(abs((row["gap_s"] as? Double ?? 0) - 90) < 0.5)
        #expect(abs((row["rate_hz"] as? Double ?? 0) - 100) < 0.5)
    }

    @Test func rowsATolerantCSVReadSkippedAreCountedWithTheirReasons() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("logger.csv")
        var s = "time_s,ax_g,ay_g,az_g\n"
        for i in 0..<3000 {
            s += "\(Double(i) / 100),0,0,1\n"
            if i % 500 == 10 { s += "\(Double(i) / 100),0,0,1\n" }  // a duplicate timestamp
        }
        s += "30.005,,0,1\n"  // an empty cell
        try Data(s.utf8).write(to: url)
        let r = try twitchd(["replay", "--summary", "json", url.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try jsonLines(r.stdout)
        let row = try #require(rows.first)
        #expect(row["skipped"] as? Int == 7)
        let why = row["skipped_why"] as? [String: Any]
        #expect(why?["duplicate timestamp"] as? Int == 6)
        #expect(why?["empty or NaN cell"] as? Int == 1)
    }

    @Test func aMissingFileIsARowWithItsErrorAndExit66() throws {
        let dir = try temporaryDirectory()
        let good = dir.appendingPathComponent("ok.csv")
        try writeCSV(good, rate: 100, seconds: 30)
        let r = try twitchd(["replay", "--summary", "json", "/nonexistent/x.cwa", good.path])
        #expect(r.status == 66)
        let rows = try jsonLines(r.stdout)
        #expect(rows.count == 2)
        #expect((rows.first?["error"] as? String)?.contains("/nonexistent/x.cwa") == true)
        #expect(rows.last?["error"] is NSNull)
        #expect(r.stderr.contains("/nonexistent/x.cwa"))
    }
}

@Suite("event JSON schema")
struct EventSchemaTests {
    /// Runs scripts/check-json-schema on `text` against `$defs/definition`.
    func check(_ text: String, _ definition: String) throws -> Run {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("out.jsonl")
        try Data(text.utf8).write(to: file)
        let root = repositoryRoot()
        let p = Process()
        // Debian's python3 has python3-jsonschema (scripts/install-deps test).
        let python =
            FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            python, root.appendingPathComponent("scripts/check-json-schema").path,
            root.appendingPathComponent("docs/event.schema.json").path, definition, file.path,
        ]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: "", stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func replaySummaryAndDaemonOutputFollowTheSchema() throws {
        let dir = try temporaryDirectory()
        let trace = dir.appendingPathComponent("t.csv.gz").path
        #expect(
            try twitchd(["simulate", "--duration", "3m", "--start-time", "2026-11-26T23:00:00Z", "-o", trace])
                .status == 0)
        let events = try twitchd(["replay", "--format", "jsonl", trace, trace])
        #expect(!events.stdout.isEmpty)
        let e = try check(events.stdout, "replayTwitch")
        #expect(e.status == 0, "\(e.stderr)")
        // --explain adds candidate and state lines; all of it is replayLine.
        let explained = try twitchd(["replay", "--format", "jsonl", "--explain", trace])
        #expect(explained.stdout.contains("\"candidate\": \"twitch\""))
        #expect(explained.stdout.contains("\"state\": "))
        let x = try check(explained.stdout, "replayLine")
        #expect(x.status == 0, "\(x.stderr)")
        #expect(try check(explained.stdout, "replayTwitch").status == 1)
        let summary = try twitchd(["replay", "--summary", "json", trace, "/nonexistent.bin"])
        let s = try check(summary.stdout, "summaryRow")
        #expect(s.status == 0, "\(s.stderr)")
        let demo = try twitchd([
            "demo", "--json", "--duration", "6s", "--event-socket",
            dir.appendingPathComponent("ev.sock").path,
        ])
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(!demo.stdout.isEmpty)
        let d = try check(demo.stdout, "daemonEvent")
        #expect(d.status == 0, "\(d.stderr)")
    }

    @Test func theCheckRejectsWrongNamesTypesAndDecimals() throws {
        let good =
            #"{"type": "twitch", "offset_s": 1.5, "duration_ms": 80.0, "peak_mg": 12.44, "axis": "z", "freq_hz": 11.0, "snr": 7.0, "confidence": 0.88, "location": "calf"}"#
        #expect(try check(good, "replayTwitch").status == 0)
        let renamed = good.replacingOccurrences(of: "peak_mg", with: "peak")
        #expect(try check(renamed, "replayTwitch").status == 1)
        let text = good.replacingOccurrences(of: "12.44", with: "\"12.44\"")
        #expect(try check(text, "replayTwitch").status == 1)
        let precise = good.replacingOccurrences(of: "12.44", with: "12.444")
        let p = try check(precise, "replayTwitch")
        #expect(p.status == 1)
        #expect(p.stderr.contains("peak_mg"))
    }
}
