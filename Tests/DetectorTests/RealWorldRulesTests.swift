import Detector
import Testing
import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The rules issue 9 added against what a real wrist does between movements (measured on a
/// real 21-hour recording, BENCHMARKS.md "Detector against real life"): each rejects a burst
/// that is otherwise a clear twitch, and the same burst passes once the reason is gone.
@Suite("Real-world rules: settling, fidgeting, several axes")
struct RealWorldRulesTests {
    /// A small movement of the limb: 60 mg along x over 0.6 s (a smooth bump), from `onset`.
    static func movement(at onset: Double) -> @Sendable (Double) -> Vector3 {
        { t in
            let dt = t - onset
            guard dt >= 0, dt < 0.6 else { return .zero }
            let s = sin(Double.pi * dt / 0.6)
            return Vector3(x: 0.06 * s * s, y: 0, z: 0)
        }
    }

    /// A burst oscillating in two directions at once (x and y a quarter cycle apart): a circle,
    /// not a line.
    static func circular(onset: Double, frequency: Double, peak: Double) -> @Sendable (Double) -> Vector3 {
        { t in
            let dt = t - onset
            guard dt >= 0, dt < 0.24 else { return .zero }
            let a = peak * exp(-dt / 0.03)
            let w = 2 * Double.pi * frequency * dt
            return Vector3(x: a * cos(w), y: a * sin(w), z: 0)
        }
    }

    /// A burst tracing an ellipse: `major` g along y, `minor` g along x a quarter cycle later.
    static func elliptical(
        onset: Double, frequency: Double, major: Double, minor: Double
    ) -> @Sendable (Double) -> Vector3 {
        { t in
            let dt = t - onset
            guard dt >= 0, dt < 0.24 else { return .zero }
            let a = exp(-dt / 0.03)
            let w = 2 * Double.pi * frequency * dt
            return Vector3(x: minor * a * cos(w), y: major * a * sin(w), z: 0)
        }
    }

    /// A click: 5 ms of 5 mg along y (broadband), at `onset`.
    static func click(at onset: Double) -> @Sendable (Double) -> Vector3 {
        { t in t >= onset && t < onset + 0.005 ? Vector3(x: 0, y: 0.005, z: 0) : .zero }
    }

    func verdicts(
        _ components: [@Sendable (Double) -> Vector3], duration: Double = 104, noise: Double = 0.0005
    ) throws -> (twitches: [TwitchEvent], reports: [CandidateReport]) {
        let synth = Synth(
            rate: 400, duration: duration, noise: noise, components: components + [restingLimb])
        let all = try outputs(synth.samples(), rate: 400, explain: true)
        let reports = all.compactMap { if case .candidate(let r) = $0 { r } else { nil } }
        let twitches = all.compactMap { if case .twitch(let e) = $0 { e } else { nil } }
        return (twitches, reports)
    }

    func verdict(at onset: Double, in reports: [CandidateReport]) -> CandidateVerdict? {
        reports.first { abs($0.onset - onset) < 0.05 }?.verdict
    }

    @Test("a twitch-sized burst right after the limb comes to rest is the limb settling")
    func settling() throws {
        // The movement ends near 50.6 s; rest is declared 1.5 s later. A 6 mg burst (about 1.9
        // times the threshold: loud enough for the unsettled rule) a tenth of a second after that.
        let early = try verdicts(
            [Self.movement(at: 50), twitch(onset: 52.6, frequency: 20, peak: 0.006)], duration: 62)
        #expect(verdict(at: 52.6, in: early.reports) == .unsettled, "\(early.reports)")
        #expect(early.twitches.isEmpty)
        let later = try verdicts(
            [Self.movement(at: 50), twitch(onset: 58, frequency: 20, peak: 0.006)], duration: 62)
        #expect(verdict(at: 58, in: later.reports) == .twitch, "\(later.reports)")
        #expect(later.twitches.count == 1)
    }

    @Test("a small burst after four movements in half a minute is fidgeting; after three it is a twitch")
    func fidgeting() throws {
        let burst = twitch(onset: 95, frequency: 20, peak: 0.004)
        let four = try verdicts([70.0, 76, 82, 88].map(Self.movement(at:)) + [burst])
        #expect(verdict(at: 95, in: four.reports) == .restless, "\(four.reports)")
        #expect(!four.twitches.contains { abs($0.onset - 95) < 0.05 })
        let three = try verdicts([76.0, 82, 88].map(Self.movement(at:)) + [burst])
        #expect(verdict(at: 95, in: three.reports) == .twitch, "\(three.reports)")
        #expect(three.twitches.contains { abs($0.onset - 95) < 0.05 })
    }

    @Test("a burst circling in two directions is the limb, not one motor unit; along one line it is a twitch")
    func severalAxes() throws {
        let circle = try verdicts([Self.circular(onset: 100, frequency: 20, peak: 0.02)])
        let report = try #require(circle.reports.first { abs($0.onset - 100) < 0.05 })
        #expect(report.verdict == .multiaxial, "\(circle.reports)")
        #expect(report.polarization < 0.7)
        #expect(circle.twitches.isEmpty)
        let line = try verdicts([twitch(onset: 100, frequency: 20, peak: 0.02)])
        let lineReport = try #require(line.reports.first { abs($0.onset - 100) < 0.05 })
        #expect(lineReport.verdict == .twitch, "\(line.reports)")
        #expect(lineReport.polarization > 0.95)
        #expect(line.twitches.count == 1)
    }

    @Test("after two movements in 50 s, a burst with much of its energy off its main line is not a twitch")
    func betweenMovements() throws {
        // 6 mg along y, 4.5 mg along x: under 80 % along one direction, and the second direction
        // within what the multiaxial rule lets through.
        let burst = Self.elliptical(onset: 95, frequency: 20, major: 0.006, minor: 0.0045)
        let moved = try verdicts([Self.movement(at: 60), Self.movement(at: 75), burst], noise: 0.001)
        let report = try #require(moved.reports.first { abs($0.onset - 95) < 0.05 })
        #expect(report.verdict == .restless, "\(moved.reports)")
        #expect(report.polarization < 0.84)
        let still = try verdicts([burst], noise: 0.001)
        #expect(verdict(at: 95, in: still.reports) == .twitch, "\(still.reports)")
    }

    @Test("a slow burst with a click in it is a jolt; without the click it is a twitch")
    func slowJolt() throws {
        let slow = twitch(onset: 95, frequency: 7, peak: 0.012, decay: 0.05)
        let jolt = try verdicts([slow, Self.click(at: 95)])
        let report = try #require(jolt.reports.first { abs($0.onset - 95) < 0.05 })
        #expect(report.verdict == .knock, "\(jolt.reports)")
        #expect(report.knockRatio < 0.5)  // below the knock ratio of a fast candidate
        #expect(report.frequency < 11)
        let plain = try verdicts([slow])
        #expect(verdict(at: 95, in: plain.reports) == .twitch, "\(plain.reports)")
    }
}
