public import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Settings for ``TraceSimulator``. Every field has a default that gives a plausible 10-minute
/// calf recording; the same configuration (including `seed`) always gives the same trace.
public struct SimulationConfiguration: Sendable, Equatable {
    /// Seed of the pseudo-random generator.
    public var seed: UInt64 = 1
    /// Length in seconds; nil generates forever (for live simulation).
    public var duration: Double? = 600
    /// Nominal output data rate in Hz (written as `rate_hz`).
    public var rate: Double = 400
    /// Noise, quantisation and range of the simulated chip.
    public var sensor: SensorModel = .lis3dh
    /// How far the chip's oscillator is off nominal, as a fraction (0.02 = 2 % fast); nil draws
    /// one from the seed within +-2.5 %. The timestamps follow the true rate.
    public var oscillatorError: Double? = nil
    /// Mean twitch rate during rest, per minute (bursty: each rest period gets its own rate).
    public var twitchesPerMinute: Double = 6
    /// Peak acceleration of twitches in mg, drawn log-uniformly from this range.
    public var twitchPeakMg: ClosedRange<Double> = 2...60
    /// Dominant frequency of twitches in Hz, drawn log-uniformly from this range.
    public var twitchFrequencyHz: ClosedRange<Double> = 8...35
    /// Fraction of twitches that are doublets (a second discharge 30-40 ms after the first).
    public var doubletFraction: Double = 0.1
    /// Activity episodes (movement, posture shifts, walking, knocks, vehicle) per hour; 0 = none.
    public var episodesPerHour: Double = 24
    /// Fraction of rest periods with physiological tremor above the background.
    public var tremorFraction: Double = 0.25
    /// Include walking episodes (heel strikes of several g).
    public var walking = true
    /// Include knocks on the sensor.
    public var knocks = true
    /// Include vehicle vibration episodes (narrow-band 15-35 Hz plus sway).
    public var vehicle = false
    /// Include periods of 1-5 minutes when the sensor lies on a table (no pulse, tremor or
    /// breathing: only the chip's own noise; gravity square to an axis), labelled `not-worn`.
    public var offBody = false
    /// Include ballistocardiogram pulses (one per heartbeat).
    public var heartbeat = true
    /// Where the sensor sits (written as `location`).
    public var location = "left-calf"
    /// Unix time of the first sample (written as `start_time`), if any.
    public var startTime: Double? = nil

    /// The defaults: 10 minutes of a LIS3DH at 400 Hz on a calf, seed 1.
    public init() {}
}

/// A configuration the simulator cannot use.
public struct SimulationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the configuration.
    public var description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// What really happened in a simulated trace, in the same shape as the development traces'
/// `*.truth.json` files, so the same scorer works on both.
public struct TraceLabels: Sendable, Equatable {
    /// One labelled twitch.
    public struct Twitch: Sendable, Equatable {
        /// Onset in seconds after the first sample.
        public var onset: Double
        /// Peak of the twitch's own acceleration, in mg.
        public var peakMg: Double
        /// Dominant frequency of the oscillation, Hz.
        public var frequencyHz: Double
        /// Two discharges 30-40 ms apart (one twitch to the wearer).
        public var doublet: Bool
        /// Time until the oscillation has decayed to 5 %, in ms.
        public var durationMs: Double
        /// The axis that carries most of it.
        public var axis: Axis
        /// False when the twitch is below the floor (noise, tremor or heartbeat background).
        public var detectable: Bool
    }

    /// A stretch of one kind: `rest` or `tremor` (both rest) or an activity (`movement`,
    /// `posture`, `walking`, `knock`, `vehicle`).
    public struct Segment: Sendable, Equatable {
        /// `rest`, `tremor`, `movement`, `posture`, `walking`, `knock`, `vehicle` or `not-worn`.
        public var kind: String
        /// Start, seconds after the first sample.
        public var start: Double
        /// End, seconds after the first sample.
        public var end: Double
        /// True for rest and tremor.
        public var isRest: Bool { kind == "rest" || kind == "tremor" }
    }

    /// Every twitch, in time order.
    public var twitches: [Twitch] = []
    /// Consecutive segments covering the trace.
    public var segments: [Segment] = []
    /// RMS sensor noise per axis in 5-100 Hz, mg.
    public var noiseRmsMg: Double = 0
    /// Detectability floor: max(5 x in-band noise, 3 mg of heartbeat and tremor background).
    public var floorMg: Double = 0

    /// Seconds at rest (rest and tremor segments).
    public var restSeconds: Double { segments.filter(\.isRest).reduce(0) { $0 + $1.end - $1.start } }
    /// Seconds of activity.
    public var activeSeconds: Double { segments.filter { !$0.isRest }.reduce(0) { $0 + $1.end - $1.start } }

    /// The labels as JSON (the truth-file shape: `twitches`, `segments`, `floor_mg`, ...).
    public func json(trace: String, extra: [(String, String)] = []) -> String {
        var out = "{\n"
        out += "  \"trace\": \(jsonString(trace)),\n"
        for (k, v) in extra { out += "  \(jsonString(k)): \(v),\n" }
        out += "  \"segments\": ["
        out += segments.map { "\n    [\(jsonString($0.kind)), \(fixed($0.start, 4)), \(fixed($0.end, 4))]" }
            .joined(separator: ",")
        out += segments.isEmpty ? "],\n" : "\n  ],\n"
        out += "  \"rest_s\": \(fixed(restSeconds, 4)),\n"
        out += "  \"active_s\": \(fixed(activeSeconds, 4)),\n"
        out += "  \"noise_rms_mg\": \(fixed(noiseRmsMg, 4)),\n"
        out += "  \"floor_mg\": \(fixed(floorMg, 4)),\n"
        out += "  \"twitches\": ["
        out += twitches.map { t in
            "\n    {\"onset_s\": \(fixed(t.onset, 4)), \"peak_mg\": \(fixed(t.peakMg, 3)), "
                + "\"freq_hz\": \(fixed(t.frequencyHz, 2)), \"doublet\": \(t.doublet), "
                + "\"duration_ms\": \(fixed(t.durationMs, 1)), \"axis\": \"\(t.axis.rawValue)\", "
                + "\"detectable\": \(t.detectable)}"
        }.joined(separator: ",")
        out += twitches.isEmpty ? "]\n" : "\n  ]\n"
        out += "}\n"
        return out
    }
}

/// Generates a labelled synthetic limb-accelerometer trace from the physics in the field notes:
///
/// - twitches: damped 8-35 Hz oscillations of 1-3 visible cycles on a dominant axis, with a small
///   slow bulge, some doublets 30-40 ms apart; only during rest, at a bursty rate;
/// - gravity on a tilted axis, slowly rocked by breathing;
/// - physiological tremor (6-12 Hz; a faint background always, 1.5-35 mg in tremor periods, and
///   ringing after a perturbation); ballistocardiogram pulses once per heartbeat;
/// - activity episodes: posture shifts (gravity moves between axes), voluntary movement, walking
///   with heel strikes of several g, knocks (very short, broadband), optional vehicle vibration;
/// - the sensor: white noise from its noise density, zero-g offset, LSB quantisation, clipping
///   at full scale, and an oscillator a little off nominal (timestamps follow the true rate).
///
/// Streaming: ``next()`` makes one sample with no allocation (labels grow by one entry per
/// twitch or segment). Deterministic for a given configuration.
public struct TraceSimulator: Sendable {
    /// The settings it was made with.
    public let configuration: SimulationConfiguration
    /// The rate the simulated chip really runs at (nominal rate times 1 + oscillator error).
    public let trueRate: Double
    /// What has happened so far (complete once ``next()`` has returned nil). When the simulation
    /// is endless, only the most recent ``endlessLabelLimit`` twitches and segments are kept, so
    /// a long-running demo does not grow.
    public private(set) var labels = TraceLabels()

    /// How many twitches and segments an endless simulation keeps in ``labels``.
    public static let endlessLabelLimit = 4096

    private var rng: SeededRandom
    private var index = 0
    private let sampleCount: Int?
    private let noiseSigma: Double
    private let offset: Vector3

    // Orientation.
    private var restGravity: Vector3
    private var fromGravity: Vector3
    private var toGravity: Vector3
    private let breathingAxis: Vector3
    private let breathingRate: Double
    private let breathingDepth: Double

    // Segments.
    private var kind: Kind = .rest
    private var segmentStart = 0.0
    private var segmentEnd = 0.0
    private var segmentRateScale = 1.0
    private var tremorTarget: Double
    private var movement: [Double]  // 3 axes x 3 components x (amplitude, frequency, phase)
    private var walkStride = 0.9
    private var walkPhase = 0.0
    private var nextHeelStrike = Double.infinity
    private var swingAxis = Vector3.zero
    private var vehicleFrequency = 25.0
    private var vehicleAmplitude = 0.01
    private var vehicleAxis = Vector3.zero
    private var tableGravity = Vector3(x: 0, y: 0, z: 1)

    // Tremor oscillator.
    private let tremorBackground: Double
    private let tremorAxis: Vector3
    private var tremorAmplitude: Double
    private var tremorFrequency: Double
    private var tremorPhase = 0.0
    private var ring = 0.0

    // Heartbeat.
    private let heartRate: Double
    private let pulseAmplitude: Double
    private let pulseAxis: Vector3
    private var nextBeat: Double
    /// The slow part of the ballistocardiogram: the limb rocked once per heartbeat (1-2 Hz,
    /// 1-3 mg here, the low end of the 1-10 mg reported), while worn. With breathing it is the
    /// micro-motion that tells a resting limb from a table.
    private let rockAmplitude: Double
    private let rockPhase: Double

    // Transients in flight: twitches, heel strikes, knocks, pulses (fixed capacity).
    private var bursts: [Burst]
    private var nextTwitch: Double

    enum Kind: String {
        case rest, tremor, movement, posture, walking, knock, vehicle
        case notWorn = "not-worn"
    }

    struct Burst {
        var start = 0.0
        var end = -1.0
        var amplitude = 0.0
        var frequency = 0.0
        var decay = 1.0
        var phase = 0.0
        var axis = Vector3.zero
        /// Second discharge: delay (s) and relative amplitude; 0 for none.
        var doubletDelay = 0.0
        var doubletGain = 0.0
        /// Slow bulge (fraction of amplitude) and its length in s.
        var bulge = 0.0
        var bulgeLength = 0.2
        var gabor = false
    }

    static let burstSlots = 32

    /// A simulator at time 0; throws when a setting is out of range (rate, duration, amplitudes).
    public init(configuration: SimulationConfiguration) throws(SimulationError) {
        let c = configuration
        guard c.rate.isFinite, (10...10_000).contains(c.rate) else {
            throw SimulationError("rate \(c.rate) Hz is outside 10...10000 Hz")
        }
        if let d = c.duration, !(d.isFinite && d > 0) { throw SimulationError("duration must be positive") }
        // The sample count is an Int: a duration that overflows it is refused, not trapped on.
        if let d = c.duration, !(d * c.rate < 1e15) {
            throw SimulationError("duration \(d) s at \(c.rate) Hz is too many samples")
        }
        guard c.twitchesPerMinute.isFinite, c.twitchesPerMinute >= 0 else {
            throw SimulationError("twitch rate must be 0 or more per minute")
        }
        guard c.twitchPeakMg.lowerBound > 0, c.twitchPeakMg.upperBound.isFinite else {
            throw SimulationError("twitch amplitudes must be positive mg")
        }
        guard c.twitchFrequencyHz.lowerBound > 0, c.twitchFrequencyHz.upperBound < c.rate / 2 else {
            throw SimulationError(
                "twitch frequencies must be positive and below half the sample rate (\(c.rate / 2) Hz)")
        }
        guard c.episodesPerHour.isFinite, c.episodesPerHour >= 0 else {
            throw SimulationError("episodes per hour must be 0 or more")
        }
        guard c.sensor.noiseDensity >= 0, c.sensor.lsb >= 0, c.sensor.range > 0 else {
            throw SimulationError("sensor noise, LSB and range must be positive")
        }
        self.configuration = c
        var r = SeededRandom(seed: c.seed)
        let err = c.oscillatorError ?? r.uniform(-0.025...0.025)
        guard err > -0.5, err < 0.5 else { throw SimulationError("oscillator error must be within +-50 %") }
        let rate = c.rate * (1 + err)
        trueRate = rate
        sampleCount = c.duration.map { Int(($0 * rate).rounded(.up)) }
        noiseSigma = c.sensor.noiseDensity * (trueRate / 2).squareRoot()
        let m = c.sensor.maxOffset
        offset = Vector3(x: r.uniform(-m...m), y: r.uniform(-m...m), z: r.uniform(-m...m))

        let g = TraceSimulator.randomTilt(&r)
        restGravity = g
        fromGravity = g
        toGravity = g
        breathingAxis = TraceSimulator.perpendicular(to: g, &r)
        breathingRate = r.uniform(0.2...0.33)
        breathingDepth = r.uniform(0.0005...0.002)

        tremorBackground = r.uniform(0.0002...0.0006)
        tremorAxis = TraceSimulator.dominantDirection(&r).0
        tremorAmplitude = tremorBackground
        tremorTarget = tremorBackground
        tremorFrequency = r.uniform(7...11)
        heartRate = r.uniform(55...80)
        pulseAmplitude = c.heartbeat ? r.uniform(0.0005...0.0015) : 0
        pulseAxis = TraceSimulator.dominantDirection(&r).0
        nextBeat = r.uniform(0...1)
        // From a generator of its own, so every other draw (and so every existing trace's
        // twitches, episodes and noise) stays what it was.
        var rock = SeededRandom(seed: c.seed ^ 0x5BD1_E995_0B5C_D1A3)
        rockAmplitude = c.heartbeat ? rock.uniform(0.001...0.003) : 0
        rockPhase = rock.uniform(0...(2 * Double.pi))
        movement = [Double](repeating: 0, count: 27)
        bursts = [Burst](repeating: Burst(), count: TraceSimulator.burstSlots)
        nextTwitch = 0
        rng = r

        labels.noiseRmsMg = c.sensor.inBandNoise(rate: trueRate) * 1000
        labels.floorMg = max(5 * labels.noiseRmsMg, 3)
        startRest(at: 0, tremor: false)
        nextTwitch = drawTwitchGap()
    }

    /// Metadata for the trace file: sensor, nominal rate, location, seed, start time.
    public var metadata: TraceMetadata {
        var m = TraceMetadata()
        m["sensor"] = configuration.sensor.name
        m["rate_hz"] = fixed(configuration.rate, configuration.rate == configuration.rate.rounded() ? 0 : 3)
        m["location"] = configuration.location
        if let t = configuration.startTime { m["start_time"] = RFC3339.format(t) }
        m["generator"] = "twitchd simulate"
        m["seed"] = String(configuration.seed)
        return m
    }

    /// Total samples this simulator will produce (nil when endless).
    public var totalSamples: Int? { sampleCount }

    /// The next sample (time in s after the first sample, acceleration in g as the chip reports
    /// it), or nil when the configured duration is over.
    public mutating func next() -> Sample? {
        if let n = sampleCount, index >= n {
            if index == n {
                finishLabels()
                index += 1
            }
            return nil
        }
        let t = Double(index) / trueRate
        index += 1
        while t >= segmentEnd { advanceSegment() }
        if t >= nextTwitch {
            spawnTwitchIfAtRest(t)
            nextTwitch = t + drawTwitchGap()
        }
        if configuration.heartbeat, t >= nextBeat, kind != .notWorn {
            addBurst(
                Burst(
                    start: t, end: t + 0.15, amplitude: pulseAmplitude, frequency: 6, decay: 0.03,
                    axis: pulseAxis,
                    gabor: true))
            nextBeat = t + 60 / heartRate * (1 + 0.04 * rng.normal())
        }
        var a = gravity(t) + tremor(t) + episode(t)
        for k in 0..<bursts.count where bursts[k].end >= t {
            a = a + bursts[k].axis * TraceSimulator.value(bursts[k], at: t)
        }
        return Sample(time: t, acceleration: sensed(a))
    }

    // MARK: - Segments

    private mutating func advanceSegment() {
        let t = segmentEnd
        if kind == .rest || kind == .tremor {
            startEpisode(at: t)
        } else {
            // A perturbation sets physiological tremor ringing for a second or two.
            if kind != .vehicle { ring = rng.uniform(0.002...0.008) }
            restGravity = toGravity
            fromGravity = toGravity
            startRest(at: t, tremor: rng.chance(configuration.tremorFraction))
        }
    }

    private mutating func startRest(at t: Double, tremor: Bool) {
        kind = tremor ? .tremor : .rest
        segmentStart = t
        let perHour = configuration.episodesPerHour
        if perHour <= 0 {
            segmentEnd = .infinity
        } else {
            segmentEnd = t + max(10, rng.exponential(mean: max(3600 / perHour - 8, 10)))
        }
        segmentRateScale = exp(0.6 * rng.normal() - 0.18)
        tremorTarget = tremor ? min(max(0.008 * exp(0.7 * rng.normal()), 0.0015), 0.035) : tremorBackground
        openSegment()
    }

    private mutating func startEpisode(at t: Double) {
        var kinds: [(Kind, Double)] = [(.movement, 0.35), (.posture, 0.3)]
        if configuration.walking { kinds.append((.walking, 0.2)) }
        if configuration.knocks { kinds.append((.knock, 0.15)) }
        if configuration.vehicle { kinds.append((.vehicle, 0.15)) }
        if configuration.offBody { kinds.append((.notWorn, 0.1)) }
        var pick = rng.unit() * kinds.reduce(0) { $0 + $1.1 }
        var chosen = Kind.movement
        for (k, w) in kinds {
            if pick < w {
                chosen = k
                break
            }
            pick -= w
        }
        kind = chosen
        segmentStart = t
        tremorTarget = tremorBackground
        fromGravity = restGravity
        switch chosen {
        case .posture:
            segmentEnd = t + rng.uniform(1...3)
            toGravity = TraceSimulator.rotate(restGravity, by: rng.uniform(0.35...1.2), &rng)
        case .movement:
            segmentEnd = t + rng.uniform(2...8)
            toGravity = TraceSimulator.rotate(restGravity, by: rng.uniform(0.02...0.3), &rng)
            for k in 0..<9 {
                movement[3 * k] = rng.uniform(0.03...0.25)
                movement[3 * k + 1] = rng.uniform(0.4...4)
                movement[3 * k + 2] = rng.uniform(0...(2 * Double.pi))
            }
        case .walking:
            segmentEnd = t + rng.uniform(10...40)
            toGravity = TraceSimulator.rotate(restGravity, by: rng.uniform(0.02...0.2), &rng)
            walkStride = rng.uniform(0.8...1.0)
            walkPhase = rng.uniform(0...1)
            nextHeelStrike = t + rng.uniform(0.3...0.8)
            swingAxis = TraceSimulator.perpendicular(to: restGravity, &rng)
        case .knock:
            segmentEnd = t + rng.uniform(0.5...1)
            toGravity = restGravity
            let knocks = 1 + Int(rng.unit() * 3)
            for _ in 0..<knocks {
                let at = t + rng.uniform(0.05...(segmentEnd - t - 0.1))
                let f = min(0.35 * trueRate, 180)
                addBurst(
                    Burst(
                        start: at, end: at + 0.04, amplitude: rng.uniform(0.2...1.5), frequency: f,
                        decay: rng.uniform(0.003...0.006), axis: TraceSimulator.dominantDirection(&rng).0))
            }
        case .vehicle:
            segmentEnd = t + rng.uniform(20...90)
            toGravity = restGravity
            vehicleFrequency = rng.uniform(15...35)
            vehicleAmplitude = rng.uniform(0.005...0.03)
            vehicleAxis = TraceSimulator.dominantDirection(&rng).0
            swingAxis = TraceSimulator.perpendicular(to: restGravity, &rng)
        case .notWorn:
            segmentEnd = t + rng.uniform(60...300)
            toGravity = TraceSimulator.rotate(restGravity, by: rng.uniform(0.02...0.3), &rng)
            let (axis, _) = TraceSimulator.dominantDirection(&rng)
            // Flat on a table: one axis within a degree or two of vertical.
            var table = Vector3.zero
            for a in Axis.allCases where abs(axis[a]) > 0.5 { table[a] = axis[a] > 0 ? 1 : -1 }
            tableGravity = TraceSimulator.rotate(
                TraceSimulator.normalized(table), by: rng.uniform(0...0.03), &rng)
            tremorTarget = 0
        case .rest, .tremor:
            break
        }
        openSegment()
    }

    private mutating func openSegment() {
        if let d = configuration.duration, segmentStart >= d { return }
        labels.segments.append(TraceLabels.Segment(kind: kind.rawValue, start: segmentStart, end: segmentEnd))
        if configuration.duration == nil, labels.segments.count > 2 * TraceSimulator.endlessLabelLimit {
            labels.segments.removeFirst(labels.segments.count - TraceSimulator.endlessLabelLimit)
        }
    }

    private mutating func finishLabels() {
        guard let d = configuration.duration else { return }
        let end = Double(max((sampleCount ?? 1) - 1, 0)) / trueRate
        labels.segments = labels.segments.compactMap { s in
            guard s.start < end else { return nil }
            var s = s
            s.end = min(s.end, max(end, d - 1 / trueRate))
            return s
        }
    }

    // MARK: - Twitches

    private mutating func drawTwitchGap() -> Double {
        let perMinute = configuration.twitchesPerMinute * segmentRateScale
        guard perMinute > 0 else { return .infinity }
        return rng.exponential(mean: 60 / perMinute)
    }

    private mutating func spawnTwitchIfAtRest(_ t: Double) {
        guard kind == .rest || kind == .tremor, t - segmentStart >= 0.5, segmentEnd - t >= 1.0 else { return }
        if let d = configuration.duration, t > d - 1.0 { return }
        let peak = rng.logUniform(configuration.twitchPeakMg) / 1000
        let f = rng.logUniform(configuration.twitchFrequencyHz)
        let cycles = rng.uniform(1...3)
        // Amplitude falls to 10 % after `cycles` cycles: 1-3 visible cycles.
        let decay = cycles / (f * log(10))
        let (axisVector, axis) = TraceSimulator.dominantDirection(&rng)
        var b = Burst(
            start: t, end: t + 3.5 * decay + 0.1, amplitude: 1, frequency: f, decay: decay,
            phase: rng.chance(0.5) ? 0 : Double.pi, axis: axisVector)
        let doublet = rng.chance(configuration.doubletFraction)
        if doublet {
            b.doubletDelay = rng.uniform(0.030...0.040)
            b.doubletGain = rng.uniform(0.5...1)
        }
        b.bulge = rng.uniform(0.1...0.25)
        b.bulgeLength = rng.uniform(0.15...0.4)
        b.end = max(b.end, t + b.doubletDelay + 3.5 * decay, t + b.bulgeLength)
        // Scale so the waveform's largest excursion is the drawn peak.
        var largest = 0.0
        var s = t
        while s < b.end {
            largest = max(largest, abs(TraceSimulator.value(b, at: s)))
            s += 0.0002
        }
        b.amplitude = largest > 0 ? peak / largest : 0
        addBurst(b)
        let durationMs = (3 * decay + b.doubletDelay) * 1000
        let floor = max(labels.floorMg, tremorTarget * 1000)
        labels.twitches.append(
            TraceLabels.Twitch(
                onset: t, peakMg: peak * 1000, frequencyHz: f, doublet: doublet, durationMs: durationMs,
                axis: axis,
                detectable: peak * 1000 >= floor))
        if configuration.duration == nil, labels.twitches.count > 2 * TraceSimulator.endlessLabelLimit {
            labels.twitches.removeFirst(labels.twitches.count - TraceSimulator.endlessLabelLimit)
        }
    }

    private mutating func addBurst(_ b: Burst) {
        var slot = 0
        var oldest = Double.infinity
        for k in 0..<bursts.count {
            if bursts[k].end < b.start {
                slot = k
                break
            }
            if bursts[k].end < oldest {
                oldest = bursts[k].end
                slot = k
            }
        }
        bursts[slot] = b
    }

    /// The scalar waveform of a burst at time `t` (in g, before multiplying by its axis).
    @inline(__always)
    static func value(_ b: Burst, at t: Double) -> Double {
        let u = t - b.start
        guard u >= 0, t <= b.end else { return 0 }
        if b.gabor {
            let w = (u - 2 * b.decay) / b.decay
            return b.amplitude * exp(-w * w) * sin(2 * Double.pi * b.frequency * u)
        }
        var v = oscillation(u, b.frequency, b.decay, b.phase)
        if b.doubletGain > 0, u >= b.doubletDelay {
            v += b.doubletGain * oscillation(u - b.doubletDelay, b.frequency, b.decay, b.phase)
        }
        if b.bulge > 0, u < b.bulgeLength {
            v += b.bulge * 0.5 * (1 - cos(2 * Double.pi * u / b.bulgeLength)) * (b.phase == 0 ? 1 : -1)
        }
        return b.amplitude * v
    }

    /// A damped sine that starts at zero with a quarter-period rise.
    @inline(__always)
    static func oscillation(_ u: Double, _ f: Double, _ decay: Double, _ phase: Double) -> Double {
        let rise = 1 / (4 * f)
        let attack = u < rise ? sin(Double.pi / 2 * u / rise) : 1
        return attack * exp(-u / decay) * sin(2 * Double.pi * f * u + phase)
    }

    // MARK: - Background and episodes

    @inline(__always)
    private mutating func gravity(_ t: Double) -> Vector3 {
        var g = restGravity
        if kind == .notWorn {
            // Taken off (1.5 s), lying still, put back on (1.5 s): no breathing while off.
            let off = TraceSimulator.smoothstep((t - segmentStart) / 1.5)
            let on = TraceSimulator.smoothstep((t - (segmentEnd - 1.5)) / 1.5)
            let lying = TraceSimulator.normalized(fromGravity * (1 - off) + tableGravity * off)
            return TraceSimulator.normalized(lying * (1 - on) + toGravity * on)
        }
        if kind != .rest, kind != .tremor {
            let p = TraceSimulator.smoothstep((t - segmentStart) / (segmentEnd - segmentStart))
            g = TraceSimulator.normalized(fromGravity * (1 - p) + toGravity * p)
            if kind == .walking {
                let swing = 0.3 * sin(2 * Double.pi * (walkStride * (t - segmentStart) + walkPhase))
                g = TraceSimulator.normalized(g + swingAxis * (swing * edges(t, 0.5)))
            }
        }
        let breath = breathingDepth * sin(2 * Double.pi * breathingRate * t)
        let rock = rockAmplitude * sin(2 * Double.pi * heartRate / 60 * t + rockPhase)
        return g + breathingAxis * breath + pulseAxis * rock
    }

    @inline(__always)
    private func edges(_ t: Double, _ ramp: Double) -> Double {
        let a = min((t - segmentStart) / ramp, (segmentEnd - t) / ramp, 1)
        return a <= 0 ? 0 : TraceSimulator.smoothstep(a)
    }

    @inline(__always)
    private mutating func tremor(_ t: Double) -> Vector3 {
        let dt = 1 / trueRate
        tremorAmplitude += (tremorTarget - tremorAmplitude) * min(dt / 0.8, 1)
        tremorFrequency += 0.4 * dt.squareRoot() * rng.normal()
        if tremorFrequency < 6 { tremorFrequency = 12 - tremorFrequency }
        if tremorFrequency > 12 { tremorFrequency = 24 - tremorFrequency }
        tremorPhase += 2 * Double.pi * tremorFrequency * dt
        if tremorPhase > 2 * Double.pi { tremorPhase -= 2 * Double.pi }
        ring *= exp(-dt / 0.6)
        let level = tremorAmplitude * (1 + 0.3 * sin(2 * Double.pi * 0.17 * t)) + ring
        return tremorAxis * (level * sin(tremorPhase))
    }

    @inline(__always)
    private mutating func episode(_ t: Double) -> Vector3 {
        switch kind {
        case .rest, .tremor, .posture, .knock, .notWorn:
            if kind == .posture {
                return restGravity
                    * (0.05 * sin(Double.pi * (t - segmentStart) / (segmentEnd - segmentStart)))
            }
            return .zero
        case .movement:
            let w = edges(t, 0.3)
            var v = Vector3.zero
            for axis in 0..<3 {
                var s = 0.0
                for k in 0..<3 {
                    let j = 3 * (3 * axis + k)
                    s += movement[j] * sin(2 * Double.pi * movement[j + 1] * t + movement[j + 2])
                }
                if axis == 0 { v.x = s * w } else if axis == 1 { v.y = s * w } else { v.z = s * w }
            }
            return v
        case .walking:
            if t >= nextHeelStrike, segmentEnd - t > 0.3 {
                let strideTime = 1 / walkStride
                addBurst(
                    Burst(
                        start: t, end: t + 0.12, amplitude: rng.uniform(0.8...2.5),
                        frequency: rng.uniform(20...40),
                        decay: 0.015, axis: restGravity))
                addBurst(
                    Burst(
                        start: t + strideTime / 2, end: t + strideTime / 2 + 0.12,
                        amplitude: rng.uniform(0.15...0.4),
                        frequency: rng.uniform(20...40), decay: 0.015, axis: restGravity))
                nextHeelStrike = t + strideTime * (1 + 0.03 * rng.normal())
            }
            let forward = 0.3 * sin(2 * Double.pi * walkStride * 2 * (t - segmentStart))
            return swingAxis * (forward * edges(t, 0.5))
        case .vehicle:
            let w = edges(t, 1)
            let engine =
                vehicleAmplitude * (1 + 0.3 * sin(2 * Double.pi * 0.3 * t))
                * sin(2 * Double.pi * vehicleFrequency * t)
            let sway = 0.05 * sin(2 * Double.pi * 0.5 * t) + 0.02 * sin(2 * Double.pi * 1.3 * t + 1)
            return (vehicleAxis * engine + swingAxis * sway) * w
        }
    }

    /// What the chip reports for a true acceleration: offset, noise, quantisation, clipping.
    @inline(__always)
    private mutating func sensed(_ a: Vector3) -> Vector3 {
        let s = configuration.sensor
        var v = a + offset
        v.x += noiseSigma * rng.normal()
        v.y += noiseSigma * rng.normal()
        v.z += noiseSigma * rng.normal()
        if s.lsb > 0 {
            v.x = (v.x / s.lsb).rounded() * s.lsb
            v.y = (v.y / s.lsb).rounded() * s.lsb
            v.z = (v.z / s.lsb).rounded() * s.lsb
        }
        v.x = min(max(v.x, -s.range), s.range)
        v.y = min(max(v.y, -s.range), s.range)
        v.z = min(max(v.z, -s.range), s.range)
        return v
    }

    // MARK: - Geometry

    static func smoothstep(_ x: Double) -> Double {
        let c = min(max(x, 0), 1)
        return 0.5 - 0.5 * cos(Double.pi * c)
    }

    static func normalized(_ v: Vector3) -> Vector3 {
        let m = v.magnitude
        return m > 0 ? v * (1 / m) : Vector3(x: 0, y: 0, z: 1)
    }

    /// A gravity direction tilted away from every axis (a strapped limb is never square to the chip).
    static func randomTilt(_ r: inout SeededRandom) -> Vector3 {
        normalized(
            Vector3(x: r.normal(), y: r.normal(), z: r.normal())
                + Vector3(x: 0, y: 0, z: r.chance(0.5) ? 1.2 : -1.2))
    }

    static func perpendicular(to g: Vector3, _ r: inout SeededRandom) -> Vector3 {
        let v = Vector3(x: r.normal(), y: r.normal(), z: r.normal())
        let d = v.x * g.x + v.y * g.y + v.z * g.z
        return normalized(v - g * d)
    }

    static func rotate(_ g: Vector3, by angle: Double, _ r: inout SeededRandom) -> Vector3 {
        let p = perpendicular(to: g, &r)
        return normalized(g * cos(angle) + p * sin(angle))
    }

    /// A unit vector mostly along one axis, and that axis.
    static func dominantDirection(_ r: inout SeededRandom) -> (Vector3, Axis) {
        let k = min(Int(r.unit() * 3), 2)
        let sign = r.chance(0.5) ? 1.0 : -1.0
        var v = Vector3(x: 0.3 * r.normal(), y: 0.3 * r.normal(), z: 0.3 * r.normal())
        let axis: Axis = k == 0 ? .x : k == 1 ? .y : .z
        v[axis] = sign
        // Keep the chosen axis dominant.
        for other in Axis.allCases where other != axis { v[other] = min(max(v[other], -0.6), 0.6) }
        return (normalized(v), axis)
    }
}
