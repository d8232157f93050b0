import Detector
import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Deterministic pseudo-random numbers (SplitMix64) with Gaussian samples, for synthetic signals.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    mutating func uniform() -> Double {
        (Double(next() >> 11) + 0.5) / Double(1 << 53)
    }

    /// Standard normal (Box-Muller).
    mutating func gaussian() -> Double {
        let u1 = uniform()
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// A synthetic limb recording built from physical components, sampled at `rate` Hz.
struct Synth {
    var rate: Double
    var duration: Double
    /// White sensor noise per axis, in g RMS.
    var noise: Double = 0.0005
    /// Timestamp jitter, in units of the sample period (uniform +-).
    var jitter: Double = 0
    var seed: UInt64 = 1
    /// Extra acceleration (in g) as a function of time, added to gravity and noise.
    var components: [@Sendable (Double) -> Vector3] = []
    /// Gravity direction as a function of time (defaults to +z).
    var gravity: @Sendable (Double) -> Vector3 = { _ in Vector3(x: 0, y: 0, z: 1) }

    func samples() -> [Sample] {
        var rng = SeededRandom(seed: seed)
        let n = Int(duration * rate)
        var out: [Sample] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            var t = Double(i) / rate
            if jitter > 0 { t += (rng.uniform() - 0.5) * jitter / rate }
            var a = gravity(t)
            for c in components { a = a + c(t) }
            a = a + Vector3(x: rng.gaussian(), y: rng.gaussian(), z: rng.gaussian()) * noise
            out.append(Sample(time: t, acceleration: a))
        }
        return out
    }
}

/// A twitch at the skin: a damped oscillation starting at `onset` along `direction`.
func twitch(
    onset: Double, frequency: Double, peak: Double, decay: Double = 0.03,
    direction: Vector3 = Vector3(x: 0, y: 1, z: 0)
) -> @Sendable (Double) -> Vector3 {
    { t in
        let dt = t - onset
        guard dt >= 0, dt < 8 * decay else { return .zero }
        return direction * (peak * exp(-dt / decay) * sin(2 * Double.pi * frequency * dt))
    }
}

/// Runs a detector over `samples` and returns what it reported.
func run(
    _ samples: [Sample], rate: Double, sensitivity: Sensitivity = .normal
) throws -> (twitches: [TwitchEvent], states: [StateChange], detector: TwitchDetector) {
    var detector = try TwitchDetector(
        configuration: DetectorConfiguration(sampleRate: rate, sensitivity: sensitivity, location: "test"))
    var twitches: [TwitchEvent] = []
    var states: [StateChange] = []
    let sink: (DetectorOutput) -> Void = { output in
        switch output {
        case .twitch(let e): twitches.append(e)
        case .state(let s): states.append(s)
        case .gap, .candidate: break
        }
    }
    for s in samples { detector.process(s, sink) }
    detector.finish(sink)
    return (twitches, states, detector)
}

/// Everything a detector reported, in order, with `explain` as asked.
func outputs(_ samples: [Sample], rate: Double, explain: Bool = false) throws -> [DetectorOutput] {
    var detector = try TwitchDetector(
        configuration: DetectorConfiguration(sampleRate: rate, location: "test", explain: explain))
    var all: [DetectorOutput] = []
    for s in samples { detector.process(s) { all.append($0) } }
    detector.finish { all.append($0) }
    return all
}

/// Worn rest: breathing (0.25 Hz, 1 mg) and the slow ballistocardiogram (1.1 Hz, 1 mg) on top
/// of gravity: the micro-motion of a resting limb.
let restingLimb: @Sendable (Double) -> Vector3 = { t in
    Vector3(
        x: 0.001 * sin(2 * Double.pi * 0.25 * t), y: 0.001 * sin(2 * Double.pi * 1.1 * t + 1), z: 0)
}
