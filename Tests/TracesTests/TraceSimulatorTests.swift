import Foundation
import Testing
import TwitchCore

@testable import Traces

@Suite("TraceSimulator")
struct TraceSimulatorTests {
    func config(seed: UInt64 = 3, duration: Double = 120, rate: Double = 400) -> SimulationConfiguration {
        var c = SimulationConfiguration()
        c.seed = seed
        c.duration = duration
        c.rate = rate
        return c
    }

    func run(_ c: SimulationConfiguration) throws -> (TraceSimulator, [Sample]) {
        var sim = try TraceSimulator(configuration: c)
        var out: [Sample] = []
        while let s = sim.next() { out.append(s) }
        return (sim, out)
    }

    @Test func deterministicForASeed() throws {
        let (simA, a) = try run(config(seed: 42))
        let (simB, b) = try run(config(seed: 42))
        let (_, c) = try run(config(seed: 43))
        #expect(a == b)
        #expect(simA.labels == simB.labels)
        #expect(a.count != c.count || a != c)
    }

    @Test func clockIsOffNominalAndTimestampsFollowIt() throws {
        let (sim, samples) = try run(config(seed: 9, duration: 30, rate: 1000))
        #expect(abs(sim.trueRate / 1000 - 1) <= 0.025)
        #expect(sim.trueRate != 1000)
        #expect(samples.count == Int((30 * sim.trueRate).rounded(.up)))
        let dt = samples[1].time - samples[0].time
        #expect(abs(dt - 1 / sim.trueRate) < 1e-12)
        var c = config(duration: 10)
        c.oscillatorError = 0.01
        let skewed = try TraceSimulator(configuration: c)
        #expect(skewed.trueRate == 404)
    }

    @Test func labelsAreConsistent() throws {
        var c = config(seed: 5, duration: 1800)
        c.twitchesPerMinute = 10
        c.episodesPerHour = 60
        c.vehicle = true
        c.offBody = true
        let (sim, samples) = try run(c)
        let l = sim.labels
        #expect(!l.twitches.isEmpty)
        #expect(l.segments.count > 10)
        // Segments tile the trace without gaps.
        #expect(l.segments.first?.start == 0)
        for (a, b) in zip(l.segments, l.segments.dropFirst()) {
            #expect(a.end == b.start)
            #expect(a.end > a.start)
        }
        #expect(abs((l.segments.last?.end ?? 0) - (samples.last?.time ?? 0)) < 0.01)
        #expect(abs(l.restSeconds + l.activeSeconds - (samples.last?.time ?? 0)) < 0.01)
        // Twitches only at rest, and they are sorted.
        for t in l.twitches {
            let seg = l.segments.first { $0.start <= t.onset && t.onset < $0.end }
            #expect(seg?.isRest == true, "twitch at \(t.onset) outside rest")
            #expect(t.peakMg >= 2 * (1 - 1e-9) && t.peakMg <= 60 * (1 + 1e-9))
            // Detectable means above the floor (and above the tremor, when there is some).
            if t.detectable { #expect(t.peakMg >= l.floorMg) }
            if t.peakMg < l.floorMg { #expect(!t.detectable) }
        }
        #expect(zip(l.twitches, l.twitches.dropFirst()).allSatisfy { $0.onset < $1.onset })
        let kinds = Set(l.segments.map(\.kind))
        #expect(
            kinds.isSuperset(of: ["rest", "movement", "posture", "walking", "knock", "vehicle", "not-worn"]))
        // Rate: about 10 per minute of rest (bursty, so loosely).
        let perMinute = Double(l.twitches.count) / (l.restSeconds / 60)
        #expect(perMinute > 4 && perMinute < 20, "\(perMinute) per minute")
        #expect(l.twitches.contains { $0.doublet })
    }

    /// At rest, the noise matches the sensor's noise density; a detectable twitch stands out of it.
    @Test func noiseAndTwitchesFollowThePhysics() throws {
        var c = config(seed: 11, duration: 300, rate: 800)
        c.sensor = .adxl355
        c.episodesPerHour = 0
        c.tremorFraction = 0
        c.heartbeat = false
        c.twitchesPerMinute = 4
        c.twitchPeakMg = 10...40
        let (sim, samples) = try run(c)
        #expect(sim.labels.segments.count == 1)
        // Sample-to-sample differences of white noise have variance 2 sigma^2 (gravity and
        // tremor are far slower than the sample rate).
        let quiet = samples.indices.filter { i in
            i > 0 && !sim.labels.twitches.contains { abs(samples[i].time - $0.onset - 0.3) < 0.6 }
        }
        let diffs = quiet.map { samples[$0].acceleration.x - samples[$0 - 1].acceleration.x }
        let sigma = (diffs.map { $0 * $0 }.reduce(0, +) / Double(diffs.count) / 2).squareRoot()
        let expected = 25e-6 * (sim.trueRate / 2).squareRoot()
        #expect(abs(sigma / expected - 1) < 0.15, "noise \(sigma) g vs \(expected) g")
        for t in sim.labels.twitches {
            let i0 = Int(t.onset * sim.trueRate)
            let before = samples[max(i0 - 200, 0)..<i0].map { $0.acceleration[t.axis] }
            let mean = before.reduce(0, +) / Double(before.count)
            let after = samples[i0..<min(i0 + Int(0.2 * sim.trueRate), samples.count)]
            let peak = after.map { abs($0.acceleration[t.axis] - mean) }.max() ?? 0
            #expect(peak * 1000 > 0.5 * t.peakMg, "twitch at \(t.onset): \(peak * 1000) mg vs \(t.peakMg)")
            #expect(t.frequencyHz >= 8 && t.frequencyHz <= 35)
            #expect(t.detectable)
        }
        // Gravity is about 1 g.
        #expect(abs(samples[100].acceleration.magnitude - 1) < 0.05)
    }

    @Test func quantisedToTheSensorsLSB() throws {
        var c = config(duration: 5)
        c.sensor = .adxl345
        let (_, samples) = try run(c)
        for s in samples.prefix(500) {
            for v in [s.acceleration.x, s.acceleration.y, s.acceleration.z] {
                let steps = v / 0.0039
                #expect(abs(steps - steps.rounded()) < 1e-6)
            }
        }
    }

    @Test func writtenTraceReadsBackWithLabelsJSON() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("sim.csv.gz").path
        var c = config(duration: 60)
        c.startTime = 1_795_734_000
        var sim = try TraceSimulator(configuration: c)
        var w = try TraceWriter(path: path, metadata: sim.metadata)
        while let s = sim.next() { try w.write(s) }
        try w.close()
        let (reader, samples, error) = try readAll(path)
        #expect(error == nil)
        #expect(reader.startTime == 1_795_734_000)
        #expect(reader.metadata.location == "left-calf")
        #expect(abs(reader.sampleRate - sim.trueRate) < 0.5)
        #expect(samples.count == sim.totalSamples)
        let json = sim.labels.json(trace: "sim.csv.gz")
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let twitches = object?["twitches"] as? [[String: Any]]
        #expect(twitches?.count == sim.labels.twitches.count)
        #expect(object?["floor_mg"] as? Double != nil)
        #expect((object?["segments"] as? [[Any]])?.first?.count == 3)
    }

    @Test func rejectsBadConfigurations() {
        var c = config()
        c.rate = 0
        #expect(throws: SimulationError.self) { try TraceSimulator(configuration: c) }
        c = config()
        c.duration = -1
        #expect(throws: SimulationError.self) { try TraceSimulator(configuration: c) }
        c = config()
        c.twitchPeakMg = 0...10
        #expect(throws: SimulationError.self) { try TraceSimulator(configuration: c) }
    }

    @Test func endlessModeKeepsGoing() throws {
        var c = config()
        c.duration = nil
        var sim = try TraceSimulator(configuration: c)
        var n = 0
        while n < 100_000, sim.next() != nil { n += 1 }
        #expect(n == 100_000)
        #expect(sim.totalSamples == nil)
        #expect(!sim.labels.twitches.isEmpty)
        // Labels stay bounded however long it runs.
        var busy = config(rate: 100)
        busy.duration = nil
        busy.twitchesPerMinute = 600
        busy.episodesPerHour = 0
        var fast = try TraceSimulator(configuration: busy)
        for _ in 0..<(100 * 60 * 20) { _ = fast.next() }
        #expect(fast.labels.twitches.count > 1000)
        #expect(fast.labels.twitches.count <= 2 * TraceSimulator.endlessLabelLimit)
    }

    @Test func sensorNoiseModel() {
        #expect(abs(SensorModel.adxl355.inBandNoise(rate: 1000) - 25e-6 * 95.0.squareRoot()) < 1e-8)
    }
}
