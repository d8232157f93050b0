import Foundation
import TestSupport
import Testing

/// Scores detections against truth labels exactly as shared/tools/score.py does: a detection
/// matches a label when its onset is within -0.10 s / +0.15 s of the label's; each is used once,
/// nearest first; labels marked not detectable are neither required nor held against a detector.
struct Score {
    var tp = 0
    var fn = 0
    var fpRest = 0
    var fpActive = 0
    var restSeconds = 0.0

    var precision: Double { tp + fpRest + fpActive > 0 ? Double(tp) / Double(tp + fpRest + fpActive) : 0 }
    var recall: Double { tp + fn > 0 ? Double(tp) / Double(tp + fn) : 0 }
    var f1: Double { precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0 }
    var fpPerRestHour: Double { restSeconds > 0 ? Double(fpRest) / (restSeconds / 3600) : 0 }

    static func + (a: Score, b: Score) -> Score {
        Score(
            tp: a.tp + b.tp, fn: a.fn + b.fn, fpRest: a.fpRest + b.fpRest, fpActive: a.fpActive + b.fpActive,
            restSeconds: a.restSeconds + b.restSeconds)
    }

    init(tp: Int = 0, fn: Int = 0, fpRest: Int = 0, fpActive: Int = 0, restSeconds: Double = 0) {
        self.tp = tp
        self.fn = fn
        self.fpRest = fpRest
        self.fpActive = fpActive
        self.restSeconds = restSeconds
    }

    init(truth: [String: Any], detections: [Double]) {
        let labels = (truth["twitches"] as? [[String: Any]]) ?? []
        let onsets = labels.map { ($0["onset_s"] as? Double) ?? .nan }
        let detectable = labels.map { ($0["detectable"] as? Bool) ?? true }
        var pairs: [(Double, Int, Int)] = []
        for (li, l) in onsets.enumerated() {
            for (di, d) in detections.enumerated() where d - l >= -0.10 && d - l <= 0.15 {
                pairs.append((abs(d - l), li, di))
            }
        }
        pairs.sort { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
        var usedL = Set<Int>()
        var usedD = Set<Int>()
        for (_, li, di) in pairs where !usedL.contains(li) && !usedD.contains(di) {
            usedL.insert(li)
            usedD.insert(di)
        }
        tp = usedL.filter { detectable[$0] }.count
        fn = detectable.indices.filter { detectable[$0] && !usedL.contains($0) }.count
        let segments = (truth["segments"] as? [[Any]]) ?? []
        let rest = segments.compactMap { s -> (Double, Double)? in
            guard s.count == 3, let k = s[0] as? String, k == "rest" || k == "tremor",
                let a = (s[1] as? NSNumber)?.doubleValue, let b = (s[2] as? NSNumber)?.doubleValue
            else { return nil }
            return (a, b)
        }
        for (di, d) in detections.enumerated() where !usedD.contains(di) {
            if rest.contains(where: { $0.0 <= d && d < $0.1 }) { fpRest += 1 } else { fpActive += 1 }
        }
        restSeconds = (truth["rest_s"] as? NSNumber)?.doubleValue ?? 0
    }
}

/// The shared dev traces (../shared/data/traces beside the repository), when present.
func sharedTraces(file: String = #filePath) -> URL? {
    var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
    for _ in 0..<8 {
        let candidate = dir.appendingPathComponent("shared/data/traces")
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

@Suite("Replay on the labelled development traces")
struct DevTracesScoreTests {
    /// `twitchd replay --format jsonl` over every dev trace: F1 over all of them must stay >= 0.85
    /// (the issue's regression bar; the release target is 0.90).
    @Test(
        .enabled(
            if: Prerequisite.met(sharedTraces() != nil), "shared/data/traces not found beside the repository")
    )
    func replayF1OnDevelopmentTraces() throws {
        let dir = try #require(sharedTraces(), "shared/data/traces not found beside the repository")
        let truths = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".truth.json") }.sorted()
        #expect(!truths.isEmpty)
        var total = Score()
        for name in truths {
            let base = String(name.dropLast(".truth.json".count))
            let truthData = try Data(contentsOf: dir.appendingPathComponent(name))
            let truth = (try JSONSerialization.jsonObject(with: truthData) as? [String: Any]) ?? [:]
            let trace = dir.appendingPathComponent(base + ".csv.gz").path
            let r = try twitchd(["replay", "--format", "jsonl", trace])
            #expect(r.status == 0, "\(base): \(r.stderr)")
            let detections = try jsonLines(r.stdout).compactMap { ($0["offset_s"] as? NSNumber)?.doubleValue }
            let s = Score(truth: truth, detections: detections)
            print(
                "\(base): tp=\(s.tp) fn=\(s.fn) fp_rest=\(s.fpRest) fp_active=\(s.fpActive) "
                    + "F1=\(String(format: "%.3f", s.f1))")
            total = total + s
        }
        print(
            "ALL: precision=\(String(format: "%.3f", total.precision)) recall=\(String(format: "%.3f", total.recall)) "
                + "F1=\(String(format: "%.3f", total.f1)) FP/rest-h=\(String(format: "%.2f", total.fpPerRestHour))"
        )
        #expect(total.f1 >= 0.85, "F1 over the development traces fell to \(total.f1)")
    }

    @Test func scorerMatchesScorePy() {
        let truth: [String: Any] = [
            "twitches": [
                ["onset_s": 1.0, "detectable": true], ["onset_s": 2.0, "detectable": true],
                ["onset_s": 3.0, "detectable": false], ["onset_s": 4.0, "detectable": true],
            ],
            "segments": [["rest", 0.0, 5.0], ["movement", 5.0, 6.0]], "rest_s": 5.0,
        ]
        // 1.05 matches 1.0; 1.1 is a second detection of it (FP at rest); 2.2 is too late (FP);
        // 3.0 matches an undetectable label (neither); 5.5 is an FP during activity; 4.0 missed.
        let s = Score(truth: truth, detections: [1.05, 1.1, 2.2, 2.95, 5.5])
        #expect(s.tp == 1)
        #expect(s.fn == 2)
        #expect(s.fpRest == 2)
        #expect(s.fpActive == 1)
    }

    /// simulate -> replay -> score: clear twitches on a quiet sensor are found, at the right time.
    /// (12-30 Hz keeps them out of the tremor band, where telling the two apart is the detector's
    /// own business, tested in DetectorTests.)
    @Test func replayFindsSimulatedTwitches() throws {
        let dir = try temporaryDirectory()
        let trace = dir.appendingPathComponent("clear.csv.gz").path
        let sim = try twitchd([
            "simulate", "-o", trace, "--duration", "3m", "--sensor", "adxl355", "--rate", "500",
            "--amplitude", "15-60", "--frequency", "12-30", "--twitch-rate", "12", "--movement", "0",
            "--tremor", "0", "--seed", "21",
        ])
        #expect(sim.status == 0, "\(sim.stderr)")
        let truthData = try Data(contentsOf: dir.appendingPathComponent("clear.truth.json"))
        let truth = (try JSONSerialization.jsonObject(with: truthData) as? [String: Any]) ?? [:]
        let r = try twitchd(["replay", "--format", "jsonl", trace])
        #expect(r.status == 0, "\(r.stderr)")
        let detections = try jsonLines(r.stdout).compactMap { ($0["offset_s"] as? NSNumber)?.doubleValue }
        let s = Score(truth: truth, detections: detections)
        #expect(s.tp + s.fn >= 15, "the simulation should hold enough clear twitches")
        #expect(s.recall >= 0.8, "recall \(s.recall): tp=\(s.tp) fn=\(s.fn)")
        #expect(s.precision >= 0.9, "precision \(s.precision): fp=\(s.fpRest + s.fpActive)")
    }
}
