import Foundation

/// A stand-in limb for `sim:` sensors until the simulated chips land: noise, a 1 g gravity
/// component, and damped 15-30 Hz twitches every few seconds, paced in real time (or `speed` times
/// faster) and delivered in FIFO-sized bursts like a chip with a watermark interrupt.
final class SyntheticSource: SampleSource {
    let name: String
    let sampleRate: Double
    private let speed: Double
    private var rng: UInt64
    private var index: UInt64 = 0
    private var startMono: UInt64 = 0
    private var startReal: Int64 = 0
    private var nextTwitch: UInt64 = 0
    private var twitchStart: UInt64 = 0
    private var twitchAmp = 0.0
    private var twitchFreq = 20.0
    private let burst: Int

    init(sensor: SensorConfiguration) {
        name = "\(sensor.bus) (synthetic)"
        sampleRate = sensor.rate
        speed = sensor.speed
        rng = (sensor.seed ?? 1) &* 0x9E37_79B9_7F4A_7C15 | 1
        burst = max(1, Int(sensor.rate / 25))
    }

    func start() throws(SourceError) {
        startMono = monotonicNow()
        startReal = realtimeNow()
        index = 0
        nextTwitch = UInt64(sampleRate * 1.5)
    }

    private func uniform() -> Double {
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        return Double(rng >> 11) / Double(1 << 53)
    }

    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        let n = min(burst, buffer.count)
        // Wait until the last sample of this burst is due.
        let dueNs = UInt64(Double(index + UInt64(n)) / sampleRate * 1e9 / speed)
        let now = monotonicNow() &- startMono
        if dueNs > now { sleepNanoseconds(min(dueNs - now, 100_000_000)) }
        if monotonicNow() &- startMono < dueNs { return SourceRead(count: 0) }
        for i in 0..<n {
            let k = index + UInt64(i)
            let t = Double(k) / sampleRate
            var z = 1.0 + (uniform() - 0.5) * 0.002
            if k == nextTwitch {
                twitchStart = k
                twitchAmp = 0.006 + uniform() * 0.02
                twitchFreq = 15 + uniform() * 15
                nextTwitch = k + UInt64(sampleRate * (2 + uniform() * 4))
            }
            let dt = Double(k &- twitchStart) / sampleRate
            if twitchAmp > 0 && dt < 0.3 {
                z += twitchAmp * exp(-dt / 0.06) * sin(2 * .pi * twitchFreq * dt)
            }
            let simNs = UInt64(t * 1e9 / speed)
            buffer[i] = AcquiredSample(
                monotonicNs: startMono + simNs, realtimeNs: startReal + Int64(simNs),
                x: (uniform() - 0.5) * 0.002, y: (uniform() - 0.5) * 0.002, z: z)
        }
        index += UInt64(n)
        return SourceRead(count: n)
    }

    func standby() {}
}

/// Builds sources with what is available: simulated buses only, for now.
public enum SourceFactories {
    /// The stand-in factory: `sim:` sensors get a synthetic limb; real buses are unavailable.
    public static let synthetic: SourceFactory = { sensor throws(SourceError) in
        guard sensor.isSimulated else {
            throw SourceError("real I2C buses are not wired into this build yet", transient: false)
        }
        return SyntheticSource(sensor: sensor)
    }
}
