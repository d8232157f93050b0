import Detector
import Testing
import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("Detector on synthetic signals")
struct DetectorSyntheticTests {
    @Test("a clean damped oscillation is found with the right onset, frequency, axis and peak")
    func cleanTwitch() throws {
        let synth = Synth(
            rate: 400, duration: 10, noise: 0.0005,
            components: [twitch(onset: 5.0, frequency: 20, peak: 0.030)])
        let (events, _, _) = try run(synth.samples(), rate: 400)
        try #require(events.count == 1)
        let e = events[0]
        #expect(abs(e.onset - 5.0) < 0.03, "onset \(e.onset)")
        #expect(abs(e.frequencyHz - 20) < 3, "frequency \(e.frequencyHz)")
        #expect(e.axis == .y)
        #expect(e.peakMg > 10 && e.peakMg < 30, "peak \(e.peakMg) mg")
        #expect(e.durationMs > 20 && e.durationMs < 300, "duration \(e.durationMs) ms")
        #expect(e.snr > 5)
        #expect(e.confidence > 0.5 && e.confidence <= 1)
        #expect(e.location == "test")
    }

    @Test("the same twitch is found at any rate from 100 to 3200 Hz, with jittered timestamps")
    func rates() throws {
        for rate in [100.0, 200, 416, 800, 1000, 3200] {
            let synth = Synth(
                rate: rate, duration: 8, noise: 0.0005 * (rate / 400).squareRoot(), jitter: 0.3,
                seed: UInt64(rate),
                components: [
                    twitch(onset: 4.0, frequency: 15, peak: 0.020, direction: Vector3(x: 1, y: 0, z: 0))
                ])
            let (events, _, _) = try run(synth.samples(), rate: rate)
            #expect(events.count == 1, "\(rate) Hz: \(events.count) events")
            if let e = events.first {
                #expect(e.onset > 3.9 && e.onset < 4.15, "\(rate) Hz: onset \(e.onset)")
                #expect(e.axis == .x, "\(rate) Hz")
                #expect(abs(e.frequencyHz - 15) < 4, "\(rate) Hz: frequency \(e.frequencyHz)")
            }
        }
    }

    @Test("a doublet 35 ms apart is one twitch")
    func doublet() throws {
        let synth = Synth(
            rate: 500, duration: 10,
            components: [
                twitch(onset: 5.0, frequency: 25, peak: 0.020, decay: 0.02),
                twitch(onset: 5.035, frequency: 25, peak: 0.018, decay: 0.02),
            ])
        let (events, _, _) = try run(synth.samples(), rate: 500)
        #expect(events.count == 1, "\(events)")
    }

    @Test(
        "twitches 150-300 ms apart, still ringing into each other, are separate events at 100-1000 Hz",
        arguments: [100.0, 400.0, 1000.0])
    func burstOfTwitches(rate: Double) throws {
        // Slow, long-ringing twitches (12 Hz, 80 ms decay): each is still ringing when the next
        // starts, the case a merge-by-quiet rule alone gets wrong.
        let onsets = [4.0, 4.3, 4.5, 4.65, 7.0]
        let synth = Synth(
            rate: rate, duration: 10,
            components: onsets.enumerated().map { k, onset in
                twitch(onset: onset, frequency: k % 2 == 0 ? 12 : 18, peak: 0.02, decay: 0.08)
            })
        let (events, _, _) = try run(synth.samples(), rate: rate)
        #expect(events.count == onsets.count, "\(events.map(\.onset))")
        for onset in onsets {
            #expect(
                events.contains { abs($0.onset - onset) < 0.05 },
                "no event near \(onset): \(events.map(\.onset))")
        }
    }

    @Test("a burst just before a movement starts is held back whole, none of it reported early")
    func burstBeforeMovement() throws {
        var synth = Synth(rate: 400, duration: 12)
        synth.components = [4.5, 4.7, 4.9].map { twitch(onset: $0, frequency: 20, peak: 0.02) }
        // The limb turns over from 5.0 s on: gravity moves from z to x within a second.
        synth.gravity = { t in
            let angle = min(max(t - 5.0, 0), 1) * Double.pi / 2
            return Vector3(x: sin(angle), y: 0, z: cos(angle))
        }
        let (events, states, _) = try run(synth.samples(), rate: 400)
        #expect(states.first?.state == .active, "\(states)")
        #expect(events.isEmpty, "\(events.map(\.onset))")
    }

    @Test("a slow doublet (10 Hz, discharges 40 ms apart, the second the larger) is one twitch")
    func slowDoublet() throws {
        let synth = Synth(
            rate: 400, duration: 10,
            components: [
                twitch(onset: 5.0, frequency: 10, peak: 0.012, decay: 0.06),
                twitch(onset: 5.04, frequency: 10, peak: 0.02, decay: 0.06),
            ])
        let (events, _, _) = try run(synth.samples(), rate: 400)
        #expect(events.count == 1, "\(events.map(\.onset))")
    }

    @Test("twitches a second apart are separate events")
    func separateTwitches() throws {
        let synth = Synth(
            rate: 400, duration: 12,
            components: [
                twitch(onset: 4.0, frequency: 20, peak: 0.02),
                twitch(onset: 5.0, frequency: 20, peak: 0.02),
                twitch(onset: 8.0, frequency: 28, peak: 0.02, direction: Vector3(x: 0, y: 0, z: 1)),
            ])
        let (events, _, _) = try run(synth.samples(), rate: 400)
        #expect(events.map { ($0.onset * 10).rounded() / 10 } == [4.0, 5.0, 8.0], "\(events.map(\.onset))")
        #expect(events.last?.axis == .z)
    }

    @Test("a knock (very short, broadband, large) is not a twitch")
    func knock() throws {
        let knock: @Sendable (Double) -> Vector3 = { t in
            let dt = t - 5.0
            guard dt >= 0, dt < 0.03 else { return .zero }
            // A sharp impact ringing at 150 Hz for a few milliseconds.
            let v = 0.8 * exp(-dt / 0.003) * sin(2 * Double.pi * 150 * dt)
            return Vector3(x: v, y: -0.5 * v, z: 0.7 * v)
        }
        let synth = Synth(rate: 800, duration: 10, components: [knock])
        let (events, _, _) = try run(synth.samples(), rate: 800)
        #expect(events.isEmpty, "\(events)")
    }

    @Test("a knock seen by a 100 Hz sensor (one or two samples) is not a twitch")
    func knockAtLowRate() throws {
        let spike: @Sendable (Double) -> Vector3 = { t in
            let dt = t - 5.0
            guard dt >= 0, dt < 0.015 else { return .zero }
            return Vector3(x: -0.1, y: 0.02, z: -0.25)
        }
        let synth = Synth(rate: 100, duration: 10, noise: 0.0015, components: [spike])
        let (events, _, _) = try run(synth.samples(), rate: 100)
        #expect(events.isEmpty, "\(events)")
    }

    @Test("a posture shift (gravity moving between axes) is not a twitch, and makes the limb active")
    func postureShift() throws {
        var synth = Synth(rate: 400, duration: 14)
        synth.gravity = { t in
            let p = min(max((t - 6) / 1.5, 0), 1)
            let angle = p * Double.pi / 2
            return Vector3(x: sin(angle), y: 0, z: cos(angle))
        }
        // A bit of wobble as the limb settles, as real shifts have.
        synth.components = [
            { t in
                guard t > 6, t < 8 else { return .zero }
                return Vector3(
                    x: 0.05 * sin(2 * Double.pi * 3 * t), y: 0.03 * sin(2 * Double.pi * 11 * t), z: 0)
            }
        ]
        let (events, states, _) = try run(synth.samples(), rate: 400)
        #expect(events.isEmpty, "\(events)")
        #expect(states.map(\.state) == [.active, .rest], "\(states)")
        if states.count == 2 {
            #expect(states[0].time > 6 && states[0].time < 7.5)
            #expect(states[1].time > 7.5 && states[1].time < 11)
        }
    }

    @Test("physiological tremor at 8 Hz, waxing and waning, gives no twitches")
    func tremor() throws {
        let tremor: @Sendable (Double) -> Vector3 = { t in
            let amplitude = 0.010 * (1 + 0.5 * sin(2 * Double.pi * 0.3 * t))
            let v = amplitude * sin(2 * Double.pi * 8 * t + 0.4 * sin(2 * Double.pi * 0.7 * t))
            return Vector3(x: v, y: 0.6 * v, z: 0)
        }
        let synth = Synth(rate: 500, duration: 60, components: [tremor])
        let (events, _, _) = try run(synth.samples(), rate: 500)
        #expect(events.isEmpty, "\(events.count) events")
    }

    @Test(
        "strong tremor (30 mg at 10 Hz) ringing for seconds after a perturbation gives no twitches",
        arguments: [0.0, 0.04])
    func tremorRinging(bump size: Double) throws {
        let ringing: @Sendable (Double) -> Vector3 = { t in
            // Every 8 s a perturbation (a bump of the limb, or none felt by the sensor), then
            // tremor ringing that decays over a second or two.
            let k = (t / 8).rounded(.down)
            let dt = t - 8 * k - 3
            guard k >= 0, dt >= 0 else { return .zero }
            let bump = dt < 0.2 ? size * sin(Double.pi * dt / 0.2) : 0
            let ring = 0.03 * exp(-dt / 0.8) * sin(2 * Double.pi * 10 * dt)
            return Vector3(x: ring + bump, y: 0.5 * ring, z: 0.3 * bump)
        }
        let synth = Synth(rate: 400, duration: 60, noise: 0.001, components: [ringing])
        let (events, _, _) = try run(synth.samples(), rate: 400)
        #expect(events.isEmpty, "\(events.map(\.onset))")
    }

    @Test("sustained 25 Hz vibration with sway (a vehicle) gives no twitches")
    func vibration() throws {
        let vehicle: @Sendable (Double) -> Vector3 = { t in
            guard t > 5 else { return .zero }
            let buzz = 0.02 * sin(2 * Double.pi * 25 * t)
            let sway = 0.004 * sin(2 * Double.pi * 0.4 * t)
            return Vector3(x: buzz, y: sway, z: 0.5 * buzz)
        }
        let synth = Synth(rate: 400, duration: 60, components: [vehicle])
        let (events, _, _) = try run(synth.samples(), rate: 400)
        #expect(events.isEmpty, "\(events.map(\.onset))")
    }

    @Test("the heartbeat (one small pulse per beat) gives no twitches")
    func heartbeat() throws {
        let beat: @Sendable (Double) -> Vector3 = { t in
            let phase = t.truncatingRemainder(dividingBy: 0.9)
            guard phase < 0.25 else { return .zero }
            // Ballistocardiogram: a smooth low-frequency wave, a couple of mg.
            let v = 0.002 * sin(2 * Double.pi * 4 * phase) * exp(-phase / 0.1)
            return Vector3(x: 0, y: 0, z: v)
        }
        let synth = Synth(rate: 400, duration: 60, noise: 0.0003, components: [beat])
        let (events, _, _) = try run(synth.samples(), rate: 400)
        #expect(events.isEmpty, "\(events.map(\.onset))")
    }

    @Test("pure sensor noise gives no twitches")
    func noiseOnly() throws {
        let synth = Synth(rate: 400, duration: 120, noise: 0.003, seed: 7)
        let (events, states, _) = try run(synth.samples(), rate: 400)
        #expect(events.isEmpty, "\(events.map(\.onset))")
        // Noise alone is a sensor on a table: never movement; not worn once the micro-motion
        // rule has seen a minute of it.
        #expect(!states.contains { $0.state == .active }, "\(states)")
    }

    @Test("the noise floor adapts to the sensor and to slow changes in it")
    func noiseFloor() throws {
        var detector = try TwitchDetector(configuration: DetectorConfiguration(sampleRate: 400))
        var rng = SeededRandom(seed: 3)
        var floors: [Double] = []
        for i in 0..<(400 * 40) {
            let t = Double(i) / 400
            let sigma = t < 20 ? 0.001 : 0.004
            let s = Sample(
                time: t, x: sigma * rng.gaussian(), y: sigma * rng.gaussian(), z: 1 + sigma * rng.gaussian())
            detector.process(s) { _ in }
            if i == 400 * 19 || i == 400 * 39 { floors.append(detector.noiseFloorMg) }
        }
        try #require(floors.count == 2)
        // In-band RMS of three white axes: about sigma * sqrt(3 * bandwidth / (rate / 2)).
        #expect(floors[0] > 0.3 && floors[0] < 1.5, "floor \(floors[0]) mg")
        let ratio = floors[1] / floors[0]
        #expect(ratio > 3 && ratio < 5, "floor ratio \(ratio)")

        // A twitch that stands out of the quiet floor is hidden in the noisy one.
        let quiet = Synth(
            rate: 400, duration: 10, noise: 0.001, components: [twitch(onset: 5, frequency: 20, peak: 0.006)])
        let noisy = Synth(
            rate: 400, duration: 10, noise: 0.008, components: [twitch(onset: 5, frequency: 20, peak: 0.006)])
        let inQuiet = try run(quiet.samples(), rate: 400).twitches
        let inNoise = try run(noisy.samples(), rate: 400).twitches
        #expect(inQuiet.count == 1)
        #expect(inNoise.isEmpty)
    }

    @Test("walking makes the limb active, twitches during it are not counted, and rest comes back")
    func walking() throws {
        let walk: @Sendable (Double) -> Vector3 = { t in
            guard t > 10, t < 20 else { return .zero }
            let stride = 0.3 * sin(2 * Double.pi * 1.8 * t)
            let phase = (t * 1.8).truncatingRemainder(dividingBy: 1)
            let strike = phase < 0.05 ? 1.5 * sin(Double.pi * phase / 0.05) : 0
            return Vector3(x: stride, y: 0.1 * stride, z: strike)
        }
        let synth = Synth(
            rate: 400, duration: 30,
            components: [
                walk, twitch(onset: 15, frequency: 20, peak: 0.03),
                twitch(onset: 25, frequency: 20, peak: 0.03),
            ]
        )
        let (events, states, detector) = try run(synth.samples(), rate: 400)
        #expect(states.map(\.state) == [.active, .rest], "\(states)")
        #expect(events.map { ($0.onset * 10).rounded() / 10 } == [25.0], "\(events.map(\.onset))")
        #expect(detector.state == .rest)
    }

    @Test("the same input gives the same events")
    func determinism() throws {
        let synth = Synth(
            rate: 1000, duration: 20, noise: 0.002, jitter: 0.2,
            components: (0..<6).map {
                twitch(onset: 2.5 + 2.7 * Double($0), frequency: 12 + 3 * Double($0), peak: 0.02)
            })
        let samples = synth.samples()
        let a = try run(samples, rate: 1000)
        let b = try run(samples, rate: 1000)
        #expect(a.twitches == b.twitches)
        #expect(a.states == b.states)
        #expect(a.twitches.count == 6)
    }

    @Test("block processing gives the same events as sample-by-sample")
    func blocks() throws {
        let synth = Synth(
            rate: 400, duration: 10, components: [twitch(onset: 5.0, frequency: 20, peak: 0.03)])
        let samples = synth.samples()
        let single = try run(samples, rate: 400).twitches
        var detector = try TwitchDetector(
            configuration: DetectorConfiguration(sampleRate: 400, location: "test"))
        var blocked: [TwitchEvent] = []
        var i = 0
        while i < samples.count {
            let end = min(i + 32, samples.count)
            detector.process(samples[i..<end]) { if case .twitch(let e) = $0 { blocked.append(e) } }
            i = end
        }
        detector.finish { if case .twitch(let e) = $0 { blocked.append(e) } }
        #expect(single == blocked)
    }

    @Test("bad samples (NaN, infinite, time going backwards) are ignored without harm")
    func badSamples() throws {
        var samples = Synth(
            rate: 400, duration: 10, components: [twitch(onset: 5.0, frequency: 20, peak: 0.03)]
        ).samples()
        samples.insert(Sample(time: 2.0, x: .nan, y: 0, z: 1), at: 1200)
        samples.insert(Sample(time: 1.0, x: 0, y: 0, z: 1), at: 1500)
        samples.insert(Sample(time: .infinity, x: 0, y: 0, z: 1), at: 1700)
        let (events, _, _) = try run(samples, rate: 400)
        #expect(events.count == 1)
    }

    @Test("sample rates outside the supported range are refused")
    func rateRange() throws {
        for bad in [0.0, 20, 49, 4001, 10_000, .nan, .infinity, -400] {
            #expect(throws: DetectorConfigurationError.self) {
                _ = try TwitchDetector(configuration: DetectorConfiguration(sampleRate: bad))
            }
        }
        for good in [100.0, 200, 3200] {
            let d = try TwitchDetector(configuration: DetectorConfiguration(sampleRate: good))
            #expect(d.internalRate >= 100 && d.internalRate < 400)
        }
    }

    @Test("sensitivity trades small twitches for false alarms")
    func sensitivity() throws {
        let low = try TwitchDetector(configuration: DetectorConfiguration(sampleRate: 400, sensitivity: .low))
        let high = try TwitchDetector(
            configuration: DetectorConfiguration(sampleRate: 400, sensitivity: .high))
        #expect(low.threshold > high.threshold)
        let synth = Synth(
            rate: 400, duration: 10, noise: 0.001, components: [twitch(onset: 5, frequency: 20, peak: 0.0035)]
        )
        // At the highest sensitivity the small twitch is found (noise may add a false alarm or
        // two: that is the trade); at the lowest nothing is.
        let eager = try run(synth.samples(), rate: 400, sensitivity: Sensitivity(1)).twitches
        #expect(eager.contains { abs($0.onset - 5) < 0.1 }, "\(eager.map(\.onset))")
        let reluctant = try run(synth.samples(), rate: 400, sensitivity: Sensitivity(0)).twitches
        #expect(reluctant.isEmpty)
        #expect(Sensitivity(parsing: "high") == .high)
        #expect(Sensitivity(parsing: "0.3")?.value == 0.3)
        #expect(Sensitivity(parsing: "2") == nil)
    }

    @Test(
        "a noisy sensor lying still for a long time is reported as not worn, and a twitch brings it back"
    )
    func notWorn() throws {
        // 16 minutes of pure sensor noise at 100 Hz, too noisy (0.6 mg/sqrt(Hz)) for the
        // micro-motion rule: the slow rule decides, after 15 minutes of stillness.
        let synth = Synth(
            rate: 100, duration: 1000, noise: 0.004,
            components: [twitch(onset: 990, frequency: 15, peak: 0.05)])
        let (events, states, _) = try run(synth.samples(), rate: 100)
        #expect(states.first?.state == .notWorn)
        if let first = states.first { #expect(first.time > 899 && first.time < 902) }
        #expect(events.count == 1)
        #expect(states.last?.state == .rest)
    }
}
