import Detector
import Testing
import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("Restless: the still moments of a busy hand")
struct RestlessTests {
    /// Broadband muscle sound from t = 30 s: 24 small tones spread over 15-40 Hz (0.1 mg each,
    /// phases fixed by a seed), which raises the upper band's floor to about 2.5 times its quiet
    /// level without making a candidate of its own.
    static let working: @Sendable (Double) -> Vector3 = { t in
        guard t >= 30 else { return .zero }
        var rng = SeededRandom(seed: 77)
        var v = Vector3.zero
        for k in 0..<24 {
            let f = 15 + 25 * Double(k) / 24 + rng.uniform()
            let p = 2 * Double.pi * rng.uniform()
            let axis =
                k % 3 == 0
                ? Vector3(x: 1, y: 0, z: 0)
                : (k % 3 == 1 ? Vector3(x: 0, y: 1, z: 0) : Vector3(x: 0, y: 0, z: 1))
            v = v + axis * (0.0001 * sin(2 * Double.pi * f * t + p))
        }
        return v
    }

    /// Knocks (4 ms, 0.8 g, larger than a motor unit makes): the hand bumping into things, at
    /// 80, 85, 90 and 95 s.
    static let knocks: @Sendable (Double) -> Vector3 = { t in
        for k in [80.0, 85, 90, 95] where t >= k && t < k + 0.004 { return Vector3(x: 0.8, y: 0.8, z: 0) }
        return .zero
    }

    /// The same knocks at 60 mg: no larger than a twitch, so they are not counted as movements.
    static let smallKnocks: @Sendable (Double) -> Vector3 = { t in
        for k in [80.0, 85, 90, 95] where t >= k && t < k + 0.004 { return Vector3(x: 0.05, y: 0.05, z: 0) }
        return .zero
    }

    func verdicts(_ components: [@Sendable (Double) -> Vector3]) throws -> (
        twitches: Int, reports: [CandidateReport]
    ) {
        // A clear twitch (20 mg at 20 Hz, far above the busy rule's bar) at 100 s.
        let synth = Synth(
            rate: 400, duration: 104, noise: 0.0005,
            components: components + [restingLimb, twitch(onset: 100, frequency: 20, peak: 0.02)])
        let all = try outputs(synth.samples(), rate: 400, explain: true)
        let reports = all.compactMap { if case .candidate(let r) = $0 { r } else { nil } }
        let twitches = all.filter { if case .twitch = $0 { true } else { false } }.count
        return (twitches, reports)
    }

    @Test("a twitch-like burst after several knocks in the last minute, on a raised upper floor, is restless")
    func busyHand() throws {
        let r = try verdicts([Self.working, Self.knocks])
        #expect(r.twitches == 0, "\(r.reports)")
        #expect(r.reports.contains { $0.verdict == .restless && abs($0.onset - 100) < 0.1 }, "\(r.reports)")
    }

    @Test("the same burst is a twitch when only one of the two holds")
    func eitherAlone() throws {
        let quietFloor = try verdicts([Self.knocks])
        #expect(quietFloor.twitches == 1, "\(quietFloor.reports)")
        let noMovements = try verdicts([Self.working])
        #expect(noMovements.twitches == 1, "\(noMovements.reports)")
        #expect(
            noMovements.reports.contains { $0.floorElevation > 1.4 && abs($0.onset - 100) < 0.1 },
            "\(noMovements.reports)")
    }

    @Test("knocks no larger than a twitch are not counted as movements of the limb")
    func smallKnocksAreNotMovements() throws {
        let r = try verdicts([Self.working, Self.smallKnocks])
        #expect(r.reports.contains { $0.verdict == .knock && abs($0.onset - 90) < 0.1 }, "\(r.reports)")
        #expect(r.twitches == 1, "\(r.reports)")
    }
}
