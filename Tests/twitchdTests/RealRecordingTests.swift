import Foundation
import Testing

/// Where `scripts/fetch-real-data` puts the real recordings: $TWITCHD_REAL_DATA, else
/// ~/.cache/twitchd/realdata.
func realDataDirectory() -> URL {
    if let env = ProcessInfo.processInfo.environment["TWITCHD_REAL_DATA"], !env.isEmpty {
        return URL(fileURLWithPath: env)
    }
    return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/twitchd/realdata")
}

/// The 21 h GENEActiv recording `scripts/fetch-real-data` fetches.
let sleeppyFile = realDataDirectory().appendingPathComponent("sleeppy/demo.bin")

@Suite("False alarms on a real recording")
struct RealRecordingTests {
    /// The whole 21 h GENEActiv wrist recording from the sleeppy package (day, evening, a night):
    /// nobody labelled twitches in it, so every event is a candidate false alarm. No event may be
    /// larger than one motor unit makes (the detector's ceiling, 300 mg), and there may be at
    /// most 2 an hour of recording (issue 9's target; BENCHMARKS.md reports 1.90).
    ///
    /// Skipped (not required in CI) where the recording is absent: it comes from PyPI, outside
    /// the Debian archive, so a failed download must not fail CI; `.ci/run` says so when it fails.
    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: sleeppyFile.path),
            "the sleeppy recording is absent (scripts/fetch-real-data fetches it)"))
    func sleeppyWristRecording() throws {
        let file = sleeppyFile
        // Its length from the header: pages of 300 samples at the measurement frequency.
        let head = try FileHandle(forReadingFrom: file).read(upToCount: 4096) ?? Data()
        let text = String(decoding: head, as: UTF8.self)
        func value(_ key: String) -> Double? {
            guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix(key) })
            else {
                return nil
            }
            let rest = line.dropFirst(key.count).trimmingCharacters(in: .whitespacesAndNewlines)
            return Double(rest.split(separator: " ").first ?? "")
        }
        let pages = try #require(value("Number of Pages:"))
        let hz = try #require(value("Measurement Frequency:"))
        let hours = pages * 300 / hz / 3600
        let r = try twitchd(["replay", "--format", "jsonl", file.path])
        #expect(r.status == 0, "\(r.stderr)")
        let events = try jsonLines(r.stdout).filter { $0["offset_s"] != nil }
        let peaks = events.compactMap { ($0["peak_mg"] as? NSNumber)?.doubleValue }
        let perHour = Double(events.count) / hours
        print(
            "sleeppy demo.bin: \(events.count) events in \(hours) h, \(perHour) per hour, max \(peaks.max() ?? 0) mg"
        )
        #expect(peaks.allSatisfy { $0 <= 300 }, "\(peaks.filter { $0 > 300 })")
        #expect(perHour <= 2, "\(events.count) events in \(hours) h")
    }
}
