import Detector
import Foundation
import Testing
import Traces
import TwitchCore

/// Scores the detector on the labelled development traces in `shared/data/traces`, with the
/// rule of `shared/tools/score.py`, and fails if the overall F1 drops below 0.85.
@Suite("Detector on the labelled development traces")
struct DevTraceRegressionTests {
    /// `shared/data/traces` beside one of this file's ancestor folders, as CI lays it out.
    static let tracesFolder: URL? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        // "/" too: in the emulated arm64 root the checkout is /src and shared/ is /shared.
        while true {
            let candidate = dir.appendingPathComponent("shared/data/traces")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("index.json").path) {
                return candidate
            }
            if dir.path == "/" { return nil }
            dir = dir.deletingLastPathComponent()
        }
    }()

    @Test(
        "overall F1 on the development traces is at least 0.85",
        .enabled(if: tracesFolder != nil, "shared/data/traces not found beside the checkout: skipped"))
    func devTraces() throws {
        let folder = try #require(Self.tracesFolder)
        let truths = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".truth.json") }.sorted()
        try #require(!truths.isEmpty, "no *.truth.json in \(folder.path)")
        var total = Score()
        for truthName in truths {
            let truth = try Truth.load(folder.appendingPathComponent(truthName))
            // Through the project's own reader, as `twitchd replay` does: times come out in
            // seconds after the first sample, the rate is measured from the timestamps.
            var reader = try TraceReader(path: folder.appendingPathComponent(truth.trace).path)
            var detector = try TwitchDetector(
                configuration: DetectorConfiguration(sampleRate: reader.sampleRate))
            var onsets: [Double] = []
            let sink: (DetectorOutput) -> Void = { if case .twitch(let e) = $0 { onsets.append(e.onset) } }
            while let s = try reader.next() { detector.process(s, sink) }
            detector.finish(sink)
            let score = Score(truth: truth, detections: onsets)
            print("\(truth.trace): \(score)")
            total.add(score)
        }
        print("ALL: \(total)")
        #expect(total.f1 >= 0.85, "overall F1 \(total.f1) < 0.85")
    }

    @Test("the scoring rule matches nearest first, within -0.10/+0.15 s, ignoring undetectable labels")
    func scoringRule() {
        let truth = Truth(
            trace: "t", labels: [(10.0, true), (20.0, true), (30.0, false), (40.0, true)],
            segments: [("rest", 0, 50)])
        // 9.95 and 10.05 both match 10.0: the nearer (10.04) wins, 9.95 is a false
        // positive. 20.2 is too late. 30.0 matches an undetectable label: neither counted.
        // 39.89 is too early.
        let s = Score(truth: truth, detections: [9.95, 10.04, 20.2, 30.0, 39.89])
        #expect(s.tp == 1)
        #expect(s.fn == 2)
        #expect(s.fp == 3)
    }
}

/// Labels of one trace (`*.truth.json`).
struct Truth {
    var trace: String
    /// (onset in s after the first sample, detectable)
    var labels: [(Double, Bool)]
    var segments: [(String, Double, Double)]

    static func load(_ url: URL) throws -> Truth {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let root = object as? [String: Any], let trace = root["trace"] as? String,
            let twitches = root["twitches"] as? [[String: Any]]
        else { throw DevTraceError("\(url.lastPathComponent): not a truth file") }
        let labels = twitches.compactMap { t -> (Double, Bool)? in
            guard let onset = t["onset_s"] as? Double else { return nil }
            return (onset, t["detectable"] as? Bool ?? true)
        }
        let segments = (root["segments"] as? [[Any]] ?? []).compactMap { s -> (String, Double, Double)? in
            guard s.count == 3, let k = s[0] as? String, let a = s[1] as? Double, let b = s[2] as? Double
            else { return nil }
            return (k, a, b)
        }
        return Truth(trace: trace, labels: labels, segments: segments)
    }
}

/// Counts as `shared/tools/score.py` makes them.
struct Score: CustomStringConvertible {
    var tp = 0
    var fn = 0
    var fp = 0

    init() {}

    init(truth: Truth, detections: [Double]) {
        var pairs: [(Double, Int, Int)] = []
        for (li, label) in truth.labels.enumerated() {
            for (di, d) in detections.enumerated() {
                let dt = d - label.0
                if dt >= -0.10 && dt <= 0.15 { pairs.append((abs(dt), li, di)) }
            }
        }
        pairs.sort { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
        var usedLabels = Set<Int>()
        var usedDetections = Set<Int>()
        for (_, li, di) in pairs where !usedLabels.contains(li) && !usedDetections.contains(di) {
            usedLabels.insert(li)
            usedDetections.insert(di)
        }
        tp = usedLabels.filter { truth.labels[$0].1 }.count
        fn = truth.labels.indices.filter { truth.labels[$0].1 && !usedLabels.contains($0) }.count
        fp = detections.count - usedDetections.count
    }

    mutating func add(_ other: Score) {
        tp += other.tp
        fn += other.fn
        fp += other.fp
    }

    var precision: Double { tp + fp > 0 ? Double(tp) / Double(tp + fp) : 0 }
    var recall: Double { tp + fn > 0 ? Double(tp) / Double(tp + fn) : 0 }
    var f1: Double { precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0 }

    var description: String {
        "tp=\(tp) fn=\(fn) fp=\(fp) P=\(rounded(precision)) R=\(rounded(recall)) F1=\(rounded(f1))"
    }

    private func rounded(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}

struct DevTraceError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
