import Foundation
import Testing

@Suite("replay --explain")
struct ExplainCLITests {
    /// Every reported twitch has a `twitch` verdict line with the same onset; every other
    /// candidate line names the rule that dropped it; without --explain there are none.
    @Test func explainLinesMatchEvents() throws {
        let dir = try temporaryDirectory()
        let trace = dir.appendingPathComponent("explain.csv.gz").path
        let sim = try twitchd([
            "simulate", "-o", trace, "--duration", "2m", "--sensor", "lis3dh", "--rate", "400",
            "--twitch-rate", "12", "--seed", "5",
        ])
        #expect(sim.status == 0, "\(sim.stderr)")
        let r = try twitchd(["replay", "--explain", "--format", "jsonl", trace])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try jsonLines(r.stdout)
        let events = lines.compactMap { ($0["offset_s"] as? NSNumber)?.doubleValue }
        let verdicts = lines.compactMap { $0["candidate"] as? String }
        let kept = lines.filter { ($0["candidate"] as? String) == "twitch" }
            .compactMap { ($0["onset_s"] as? NSNumber)?.doubleValue }
        #expect(!events.isEmpty)
        #expect(kept.count == events.count)
        for (a, b) in zip(kept.sorted(), events.sorted()) { #expect(abs(a - b) < 0.002) }
        let rules: Set<String> = [
            "twitch", "duration", "sustained", "knock", "frequency", "tremor", "unsettled", "busy",
            "too-large", "reoriented", "moved", "restless",
        ]
        #expect(verdicts.allSatisfy { rules.contains($0) }, "\(Set(verdicts))")
        let plain = try twitchd(["replay", "--format", "jsonl", trace])
        #expect(!plain.stdout.contains("candidate"))
    }
}
