import Detector
import Testing
import Traces
import TwitchCore

/// The simulator's off-body episodes and the detector's not-worn rule must agree: the simulated
/// table is called not worn within 2 minutes, and simulated worn rest (breath and pulse) never is.
@Suite("Simulated off-body episodes against the not-worn rule")
struct SimulatedWearTests {
    @Test(
        "off-body episodes are not worn within 2 minutes; worn rest is never not worn",
        arguments: [(SensorModel.lis3dh, 200.0), (SensorModel.adxl355, 400.0)])
    func offBodyAgrees(sensor: SensorModel, rate: Double) throws {
        var c = SimulationConfiguration()
        c.seed = 31
        c.duration = 3600
        c.rate = rate
        c.sensor = sensor
        c.offBody = true
        c.walking = false
        c.knocks = false
        c.episodesPerHour = 40
        var sim = try TraceSimulator(configuration: c)
        var detector = try TwitchDetector(configuration: DetectorConfiguration(sampleRate: rate))
        var states: [StateChange] = []
        let sink: (DetectorOutput) -> Void = { if case .state(let s) = $0 { states.append(s) } }
        var last = 0.0
        while let s = sim.next() {
            detector.process(s, sink)
            last = s.time
        }
        detector.finish(sink)
        // The detector's not-worn intervals.
        var off: [(Double, Double)] = []
        var since: Double? = nil
        for s in states {
            if s.state == .notWorn, since == nil { since = s.time }
            if s.state != .notWorn, let a = since {
                off.append((a, s.time))
                since = nil
            }
        }
        if let a = since { off.append((a, last)) }
        func overlap(_ a: Double, _ b: Double) -> Double {
            off.reduce(0) { $0 + max(0, min(b, $1.1) - max(a, $1.0)) }
        }
        let segments = sim.labels.segments
        let tables = segments.filter { $0.kind == "not-worn" && $0.end - $0.start > 150 }
        #expect(!tables.isEmpty, "the seed gives no off-body episode longer than 150 s")
        for t in tables {
            // Lying still from 1.5 s after the start: not worn for all but the first 2 minutes.
            let missed = (t.end - 1.5 - t.start) - overlap(t.start, t.end)
            #expect(
                missed < 120,
                "\(sensor): table \(t.start)-\(t.end) not worn only \(overlap(t.start, t.end)) s")
        }
        let rest = segments.filter { $0.kind == "rest" || $0.kind == "tremor" }
        let restTime = rest.reduce(0) { $0 + $1.end - $1.start }
        let wrong = rest.reduce(0) { $0 + overlap($1.start, $1.end) }
        #expect(
            wrong < 0.005 * restTime, "\(sensor): \(wrong) s of \(restTime) s of worn rest called not worn")
    }
}
