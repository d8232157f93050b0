import Detector
public import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A deterministic synthetic recording for benchmarks: gravity on z, 2 mg white noise per axis,
/// a 20 mg twitch every 3.7 s at 10-30 Hz, a 10 mg 9 Hz tremor in the second half, and a knock.
public struct Workload: Sendable {
    public let rate: Double
    public let samples: [Sample]

    public init(rate: Double, count: Int) {
        self.rate = rate
        var state: UInt64 = 0x5EED
        func uniform() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return (Double(z >> 11) + 0.5) / Double(1 << 53)
        }
        func gaussian() -> Double {
            (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
        }
        var out: [Sample] = []
        out.reserveCapacity(count)
        let duration = Double(count) / rate
        for i in 0..<count {
            let t = Double(i) / rate
            var x = 0.002 * gaussian()
            var y = 0.002 * gaussian()
            var z = 1 + 0.002 * gaussian()
            let k = (t / 3.7).rounded(.down)
            let dt = t - k * 3.7 - 1.0
            if dt >= 0, dt < 0.25 {
                let f = 10 + (k * 7).truncatingRemainder(dividingBy: 20)
                y += 0.02 * exp(-dt / 0.03) * sin(2 * Double.pi * f * dt)
            }
            if t > duration / 2 { x += 0.01 * sin(2 * Double.pi * 9 * t) }
            let knock = t - duration * 0.3
            if knock >= 0, knock < 0.02 { z += 0.8 * exp(-knock / 0.003) * sin(2 * Double.pi * 150 * knock) }
            out.append(Sample(time: t, x: x, y: y, z: z))
        }
        samples = out
    }

    /// Runs one detector over every sample; returns how many twitches it reported.
    @inline(never)
    public func run() -> Int {
        guard var detector = try? TwitchDetector(configuration: DetectorConfiguration(sampleRate: rate))
        else {
            return -1
        }
        var twitches = 0
        for s in samples {
            detector.process(s) { if case .twitch = $0 { twitches += 1 } }
        }
        detector.finish { if case .twitch = $0 { twitches += 1 } }
        return twitches
    }
}
