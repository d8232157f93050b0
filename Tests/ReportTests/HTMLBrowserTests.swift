import Foundation
import TestSupport
import Testing

@testable import Report

#if canImport(Glibc)
    import Glibc
#endif

/// Renders the HTML report in headless Chromium (Debian's `chromium`; scripts/install-deps test)
/// and checks what the browser built: every chart is a real SVG element with the expected number
/// of bars, cells and marks, and no script error.
@Suite struct HTMLBrowserTests {
    static let chromium: String? = [
        "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
    ]
    .first { (path: String) in access(path, X_OK) == 0 }

    /// Ten days of a wearer, two locations, coffee notes on some mornings.
    static func sample() -> Report {
        var d = ReportData()
        for day in 0..<10 {
            for p in 0..<(8 * 6) {
                let h = Double(day * 24) + 14 + Double(p) / 6
                d.exposures.append(period(h, rest: 500, location: "left-calf"))
                if p % 2 == 0 { d.exposures.append(period(h, rest: 550, location: "right-calf")) }
            }
            for i in 0..<(40 + day * 3) {
                d.twitches.append(
                    TwitchRecord(
                        timeUsec: usec(hours: Double(day * 24) + 14 + Double(i) * 0.1),
                        location: i % 3 == 0 ? "right-calf" : "left-calf", peakMg: 1 + Double(i % 20),
                        frequencyHz: 8 + Double(i % 25)))
            }
            if day % 3 == 0 {
                d.notes.append(NoteRecord(timeUsec: usec(hours: Double(day * 24) + 15), kind: "caffeine"))
            }
        }
        d.notes.append(
            NoteRecord(timeUsec: usec(hours: 20), kind: "text", text: "<b>magnesium</b> & \"zinc\""))
        var s = settings(.day, since: 0, until: 240)
        s.version = "test"
        s.commandLine = "twitchd report --html x.html"
        return Report(d, settings: s)
    }

    @Test(
        .enabled(
            if: Prerequisite.met(chromium != nil),
            "needs chromium (apt-get install chromium; scripts/install-deps test)"))
    func chartsRenderInChromiumWithTheRightCounts() throws {
        let chromium = try #require(Self.chromium, "chromium not installed (apt-get install chromium)")
        let report = Self.sample()
        let page = report.html()
        #expect(!page.contains("<b>magnesium"), "note text must be escaped")
        #expect(!page.contains("src=\"http"), "nothing may be fetched from elsewhere")
        #expect(page.contains("not a medical device"))
        let path = "/tmp/twitchd-report-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).html"
        try page.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let profile = "/tmp/twitchd-chromium-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let (status, dom, log) = try runProcess(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)",
                "--enable-logging=stderr",
                "--v=0", "--virtual-time-budget=2000", "--dump-dom", "file://\(path)",
            ])
        #expect(status == 0, "\(log)")
        let marker = "<div id=\"selfcheck\" hidden=\"\">"
        let start = try #require(
            dom.range(of: marker), "no self-check in the rendered page: \(dom.prefix(400))")
        let rest = dom[start.upperBound...]
        let json = String(rest[..<(rest.firstIndex(of: "<") ?? rest.endIndex)])
            .replacingOccurrences(of: "&quot;", with: "\"")
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let charts = try #require(parsed?["charts"] as? [String: [String: Any]], "\(json)")
        let errors = parsed?["errors"] as? [Any] ?? ["unreadable"]
        #expect(errors.isEmpty, "\(errors)")
        func count(_ chart: String, _ what: String) -> Int { charts[chart]?[what] as? Int ?? -1 }
        #expect(report.days.count == 10)
        #expect(count("daily", "bars") == 10)
        #expect(count("daily", "notes") == report.notes.count)
        #expect(count("heatmap", "cells") == 10 * 24)
        #expect(count("location", "bars") == 2)
        #expect(count("amplitude", "bars") == 12)
        #expect(count("frequency", "bars") == 16)
        #expect(count("notes", "ratios") == report.comparisons.filter { $0.ratio != nil }.count)
        #expect(charts.values.allSatisfy { ($0["svg"] as? Bool) == true })
        // Chromium logs script errors as CONSOLE lines.
        let consoleErrors = log.split(separator: "\n").filter {
            $0.contains("CONSOLE") && ($0.contains("Uncaught") || $0.contains("Error"))
        }
        #expect(consoleErrors.isEmpty, "\(consoleErrors)")
    }
}
