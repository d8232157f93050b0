import Accelerometers
import Detector
import Foundation
import SensorBus
import SensorSim
import TestSupport
import Testing
import Traces
import TwitchCore

/// `shared/data/traces` beside one of this file's ancestor folders (CI clones the repo with
/// `shared/` next to it), or nil.
func sharedTracesDirectory(from file: String = #filePath) -> String? {
    var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
    // "/" too: in the emulated arm64 root the checkout is /src and shared/ is /shared.
    while true {
        let candidate = dir.appendingPathComponent("shared/data/traces")
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
        if dir.path == "/" { return nil }
        dir = dir.deletingLastPathComponent()
    }
}

/// The dev trace recorded with each chip.
func devTrace(for kind: ChipKind) -> String? {
    guard let dir = sharedTracesDirectory(),
        let names = try? FileManager.default.contentsOfDirectory(atPath: dir)
    else { return nil }
    return names.sorted().first { $0.hasSuffix(".csv.gz") && $0.contains("-\(kind.rawValue)-") }.map {
        "\(dir)/\($0)"
    }
}

func detect(_ samples: [Sample], rate: Double) throws -> [TwitchEvent] {
    var detector = try TwitchDetector(configuration: DetectorConfiguration(sampleRate: rate))
    var events: [TwitchEvent] = []
    let sink: (DetectorOutput) -> Void = { if case .twitch(let e) = $0 { events.append(e) } }
    for s in samples { detector.process(s, sink) }
    detector.finish(sink)
    return events
}

@Suite("End to end: trace -> simulated chip -> driver -> detector")
struct EndToEndTests {
    @Test(
        "the driver path delivers every sample and the detector finds the same twitches",
        .enabled(
            if: Prerequisite.met(sharedTracesDirectory() != nil),
            "shared/data/traces not found beside an ancestor of the checkout"),
        arguments: ChipKind.allCases)
    func traceThroughDriver(kind: ChipKind) throws {
        // Every chip has a development trace (shared/data/traces/README.md).
        let path = try #require(devTrace(for: kind), "no \(kind) trace in shared/data/traces")
        // Direct path: the trace as `twitchd replay` reads it.
        var reader = try TraceReader(path: path)
        let rate = reader.sampleRate
        var direct: [Sample] = []
        while let s = try reader.next() { direct.append(s) }

        // Driver path: the same rows played by the simulated chip at the trace's rate.
        let source = try TraceSampleSource(path: path)
        let rig = try Rig(
            kind, source: source, settings: AccelerometerSettings(rateHz: rate), oscillatorError: 0)
        #expect(abs(rig.engine.configuration.rateHz - rate) < 0.01 * rate, "chip cannot run at \(rate) Hz")
        try rig.engine.start()
        try rig.run(seconds: Double(direct.count) / rate + 5)
        #expect(rig.chip.sourceExhausted)
        #expect(source.error == nil)

        // Every sample, none lost, values equal to the chip's LSB.
        #expect(rig.samples.count == direct.count)
        #expect(rig.lost == 0)
        #expect(rig.chip.samples.lost == 0)
        let lsb = rig.engine.configuration.gPerLSB
        // A reading at the trace's full scale (a clipped ±2.000 g) is beyond the chip's largest
        // count (+32767 LSB is 1.9988 g on a 16-bit ±2 g chip): compare the rest.
        let fullScale = rig.engine.configuration.rangeG - 2 * lsb
        var worst = 0.0
        for (a, b) in zip(rig.samples, direct) {
            for (u, v) in [
                (a.acceleration.x, b.acceleration.x), (a.acceleration.y, b.acceleration.y),
                (a.acceleration.z, b.acceleration.z),
            ] where abs(v) < fullScale {
                worst = max(worst, abs(u - v))
            }
        }
        #expect(worst <= lsb / 2 + 1e-9, "worst difference \(worst) g, LSB \(lsb)")

        // Same twitches, on the same timeline (driver times relative to its first sample).
        let t0 = try #require(rig.samples.first).monotonicNs
        let viaDriver = rig.samples.map {
            Sample(time: Double($0.monotonicNs - t0) * 1e-9, acceleration: $0.acceleration)
        }
        let a = try detect(direct, rate: rate)
        let b = try detect(viaDriver, rate: rate)
        #expect(a.count == b.count, "replay found \(a.count), driver path \(b.count)")
        // Interrupt-driven chips timestamp exactly; the polled MPU-6050's phase corrections can
        // move an onset by a few ms (the scoring window is -100/+150 ms).
        let tolerance = 2 / rate + 1e-3
        for (x, y) in zip(a, b) {
            #expect(abs(x.onset - y.onset) < tolerance, "onset \(x.onset) vs \(y.onset)")
        }
        print(
            "\(kind): \(direct.count) samples, \(a.count) twitches both ways, worst value difference \(worst) g"
        )
    }
}
