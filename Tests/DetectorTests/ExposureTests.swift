import Detector
import Testing
import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Section 2 of issue 9: what counts as an hour of rest (gaps, not worn) and the explanation.
@Suite("Detector exposure: gaps, not worn, explanations")
struct ExposureTests {
    /// Feeds every state change and gap to an exposure counter, as replay does.
    func exposure(_ outputs: [DetectorOutput], end: Double) -> Exposure {
        var counter = ExposureCounter(state: .rest, at: 0)
        for o in outputs {
            switch o {
            case .state(let s): counter.change(to: s.state, at: s.time)
            case .gap(let g): counter.gap(from: g.from, to: g.to)
            case .twitch, .candidate: break
            }
        }
        counter.charge(until: end)
        return counter.exposure
    }

    @Test("a hole in the samples is reported as a gap, before anything after it, and is not rest")
    func gapIsNotRest() throws {
        // 60 s, a 100 s hole, 60 s more, of a resting limb on a quiet sensor.
        let before = Synth(rate: 200, duration: 60, noise: 0.0003, components: [restingLimb]).samples()
        let after = Synth(rate: 200, duration: 60, noise: 0.0003, seed: 2, components: [restingLimb])
            .samples().map { Sample(time: $0.time + 160, acceleration: $0.acceleration) }
        let all = try outputs(before + after, rate: 200)
        let gaps = all.compactMap { if case .gap(let g) = $0 { g } else { nil } }
        #expect(gaps.count == 1)
        if let g = gaps.first {
            #expect(abs(g.from - 59.995) < 0.01)
            #expect(abs(g.to - 160) < 0.01)
        }
        let e = exposure(all, end: 220)
        #expect(abs(e.gap - 100) < 0.1, "\(e)")
        #expect(e.rest < 121, "\(e)")
        #expect(e.rest > 110, "\(e)")
    }

    @Test("short dropouts (under 0.25 s) are bridged, not gaps")
    func shortDropoutIsNoGap() throws {
        let samples = Synth(rate: 100, duration: 20, noise: 0.0005, components: [restingLimb]).samples()
            .filter { !($0.time > 10 && $0.time < 10.15) }
        let all = try outputs(samples, rate: 100)
        #expect(!all.contains { if case .gap = $0 { true } else { false } })
    }

    @Test("a quiet sensor put on a table is not worn within 2 minutes, backdated to when it went still")
    func tableWithinTwoMinutes() throws {
        // 3 minutes worn at rest (breath and pulse), then 4 minutes on a table: only the chip's
        // noise (a LIS3DH-class 220 ug/sqrt(Hz) at 400 Hz is 3.1 mg RMS per axis).
        let synth = Synth(
            rate: 400, duration: 420, noise: 0.0031,
            components: [{ t in t < 180 ? restingLimb(t) : .zero }],
            gravity: { t in
                let p = min(max((t - 180) / 1.5, 0), 1)
                return Vector3(x: 0.3 * (1 - p), y: 0, z: (1 - 0.09 * (1 - p)).squareRoot())
            })
        let all = try outputs(synth.samples(), rate: 400)
        let states = all.compactMap { if case .state(let s) = $0 { s } else { nil } }
        #expect(!states.contains { $0.state == .notWorn && $0.time < 180 }, "\(states)")
        let off = states.first { $0.state == .notWorn }
        #expect(off != nil, "\(states)")
        if let off {
            #expect(off.time >= 180 && off.time < 200, "\(off)")
        }
        let e = exposure(all, end: 420)
        #expect(e.notWorn > 215, "\(e)")
        #expect(e.rest < 185, "\(e)")
    }

    @Test("a worn, quiet, resting limb breathing under a low-noise sensor stays at rest for 20 minutes")
    func restingLimbIsWorn() throws {
        // An ADXL355-class sensor (25 ug/sqrt(Hz), 0.35 mg RMS at 400 Hz): no orientation change
        // beyond the breath for 20 minutes, which the slow rule alone would call not worn.
        let synth = Synth(rate: 400, duration: 1200, noise: 0.00035, components: [restingLimb])
        let all = try outputs(synth.samples(), rate: 400)
        let states = all.compactMap { if case .state(let s) = $0 { s } else { nil } }
        #expect(!states.contains { $0.state == .notWorn }, "\(states)")
    }

    @Test("explain: one typed verdict per candidate; a twitch's verdict is `twitch`, a knock's `knock`")
    func explain() throws {
        let synth = Synth(
            rate: 400, duration: 20, noise: 0.0005,
            components: [
                twitch(onset: 5, frequency: 20, peak: 0.02),
                { t in t >= 12 && t < 12.004 ? Vector3(x: 0.8, y: 0.8, z: 0) : .zero },
            ])
        let all = try outputs(synth.samples(), rate: 400, explain: true)
        let reports = all.compactMap { if case .candidate(let r) = $0 { r } else { nil } }
        let twitches = all.compactMap { if case .twitch(let e) = $0 { e } else { nil } }
        #expect(twitches.count == 1)
        let kept = reports.filter { $0.verdict == .twitch }
        #expect(kept.count == twitches.count)
        if let k = kept.first, let t = twitches.first {
            #expect(k.onset == t.onset)
            #expect(k.orientationChangeMg < k.orientationLimitMg)
            #expect(k.peakMg > 5)
        }
        #expect(reports.contains { $0.verdict == .knock && abs($0.onset - 12) < 0.1 }, "\(reports)")
        // Off, nothing but twitches and states.
        let quiet = try outputs(synth.samples(), rate: 400)
        #expect(!quiet.contains { if case .candidate = $0 { true } else { false } })
    }

    @Test("a jolt larger than a motor unit makes is not a twitch, however twitch-like its shape")
    func motorUnitCeiling() throws {
        let synth = Synth(
            rate: 400, duration: 12, noise: 0.0005,
            components: [twitch(onset: 5, frequency: 20, peak: 1.0)])
        let all = try outputs(synth.samples(), rate: 400, explain: true)
        #expect(!all.contains { if case .twitch = $0 { true } else { false } }, "\(all)")
        #expect(all.contains { if case .candidate(let r) = $0 { r.verdict == .tooLarge } else { false } })
    }

    @Test("a twitch-like burst that leaves the limb in another orientation is movement")
    func reoriented() throws {
        // A 20 mg oscillation at the start of a slow 12 mg tilt over 0.5 s (too small and slow
        // to count as movement), after which the limb stays tilted.
        let synth = Synth(
            rate: 400, duration: 12, noise: 0.0005,
            components: [twitch(onset: 5, frequency: 20, peak: 0.02)],
            gravity: { t in
                let p = min(max((t - 5) / 0.5, 0), 1)
                let x = 0.012 * (0.5 - 0.5 * cos(Double.pi * p))
                return Vector3(x: x, y: 0, z: (1 - x * x).squareRoot())
            })
        let all = try outputs(synth.samples(), rate: 400, explain: true)
        #expect(!all.contains { if case .twitch = $0 { true } else { false } }, "\(all)")
        #expect(
            all.contains { if case .candidate(let r) = $0 { r.verdict == .reoriented } else { false } },
            "\(all)")
    }
}
