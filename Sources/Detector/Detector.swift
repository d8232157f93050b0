public import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How eager the detector is. Higher finds smaller twitches and accepts more false alarms.
///
/// The value sets the threshold a burst of 9-40 Hz energy must reach above the adaptive noise
/// floor (see ``TwitchDetector/threshold``): 0 needs about 7.5 times the floor, the default 0.5
/// about 5 times, 1 about 3 times. The default is chosen so that on quiet rest, pure sensor noise
/// gives well under 3 false twitches per hour while twitches of about five times the in-band
/// noise (the smallest a sensor can honestly resolve) are still found. Raising it finds smaller
/// twitches near the noise floor at the price of more false alarms from noise, heartbeat and
/// tremor bursts; lowering it keeps only large, clear twitches.
public struct Sensitivity: Sendable, Equatable {
    /// 0 (only large, clear twitches) ... 1 (anything that stands out of the noise).
    public var value: Double
    public init(_ value: Double) { self.value = min(max(value, 0), 1) }
    public static let low = Sensitivity(0.25)
    public static let normal = Sensitivity(0.5)
    public static let high = Sensitivity(0.75)

    /// Parses `low`, `normal`, `high` or a number in 0...1.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "low": self = .low
        case "normal", "default", "medium": self = .normal
        case "high": self = .high
        default:
            guard let v = Double(text), v.isFinite, (0...1).contains(v) else { return nil }
            self.init(v)
        }
    }
}

/// Settings fixed for the life of one detector.
public struct DetectorConfiguration: Sendable, Equatable {
    /// Sample rate in Hz (measured from the data or the sensor), 100...3200 supported; the
    /// detector accepts 50...4000 so a slightly off measured rate is not an error.
    public var sampleRate: Double
    /// How eager the detector is; see ``Sensitivity``.
    public var sensitivity: Sensitivity
    /// Copied into every event, e.g. `left-calf`.
    public var location: String

    public init(sampleRate: Double, sensitivity: Sensitivity = .normal, location: String = "unknown") {
        self.sampleRate = sampleRate
        self.sensitivity = sensitivity
        self.location = location
    }
}

/// A configuration the detector cannot work with.
public struct DetectorConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What the detector reports.
public enum DetectorOutput: Sendable, Equatable {
    case twitch(TwitchEvent)
    case state(StateChange)
}

/// The streaming twitch detector. Pure computation: no I/O, no clocks, no allocation per sample.
///
/// How it works, in order, for every sample:
/// 1. Resampling: fast sensors are box-averaged down to an internal rate of 200-400 Hz (slower
///    ones are kept as they are) and linearly interpolated onto a uniform grid, so irregular
///    timestamps and any input rate give the same downstream processing.
/// 2. Filters (per axis, cut-offs in Hz): a 9-40 Hz band for twitches; a high band (above
///    ~70 Hz, or 0.35 of the internal rate) for the broadband signature of knocks; a 4 Hz
///    low-pass against a 1 s gravity estimate for movement and posture shifts.
/// 3. The noise floor: a slow (2 s) average of the band energy, clipped so single bursts barely
///    move it, and frozen while a candidate twitch is open. It follows the sensor's own noise,
///    slow drifts in it, sustained tremor and vibration.
/// 4. The limb state: movement above 30 mg (voluntary movement, walking, posture shifts) or a
///    knock makes the limb `active`; it returns to `rest` 1.5 s after the last movement. After
///    15 minutes without any change of orientation or any twitch, the state is `notWorn`.
/// 5. Candidates: the band envelope rising above ``threshold`` times the floor opens a
///    candidate; it closes when the envelope has stayed below twice the floor for 70 ms, so the
///    two discharges of a doublet make one twitch. A candidate becomes a twitch only if the limb
///    was at rest throughout and shortly after, it lasted 25-800 ms (sustained vibration and
///    tremor last longer), its high-band share is not that of a knock, and its dominant
///    frequency is within 6-45 Hz.
public struct TwitchDetector: Sendable {
    public let configuration: DetectorConfiguration
    /// The limb state as of the last sample processed.
    public var state: LimbState { core.state }
    private var resampler: Resampler
    var core: DetectorCore

    public init(configuration: DetectorConfiguration) throws(DetectorConfigurationError) {
        guard configuration.sampleRate.isFinite, (50...4000).contains(configuration.sampleRate) else {
            throw DetectorConfigurationError(
                "sample rate \(configuration.sampleRate) Hz is outside 50...4000 Hz")
        }
        self.configuration = configuration
        resampler = Resampler(inputRate: configuration.sampleRate, targetRate: Tuning.internalRate)
        core = DetectorCore(
            rate: 1 / resampler.period, sensitivity: configuration.sensitivity.value,
            location: configuration.location)
    }

    /// The internal rate the detector runs at after resampling, in Hz.
    public var internalRate: Double { 1 / resampler.period }

    /// The current adaptive noise floor: RMS of the 9-40 Hz band over all three axes, in mg.
    public var noiseFloorMg: Double { core.noiseFloorMg }

    /// The threshold in multiples of the noise floor that the twitch envelope must exceed.
    public var threshold: Double { core.triggerRatio }

    /// Feeds one sample; calls `emit` for every twitch or state change it completes.
    ///
    /// Samples whose time or acceleration is not finite, or whose time is not later than the
    /// previous sample's, are ignored.
    @inlinable
    public mutating func process(_ sample: Sample, _ emit: (DetectorOutput) -> Void) {
        processRaw(
            time: sample.time, x: sample.acceleration.x, y: sample.acceleration.y,
            z: sample.acceleration.z, emit)
    }

    /// Feeds a block of samples in order; calls `emit` for every twitch or state change.
    public mutating func process(_ samples: some Sequence<Sample>, _ emit: (DetectorOutput) -> Void) {
        for s in samples {
            processRaw(time: s.time, x: s.acceleration.x, y: s.acceleration.y, z: s.acceleration.z, emit)
        }
    }

    @usableFromInline
    mutating func processRaw(
        time: Double, x: Double, y: Double, z: Double, _ emit: (DetectorOutput) -> Void
    ) {
        let v = SIMD4<Double>(x, y, z, 0)
        guard x.isFinite, y.isFinite, z.isFinite else { return }
        let feed = resampler.feed(time: time, value: v, into: &core, emit)
        if case .restarted = feed {
            core.restart()
        }
    }

    /// Flushes a twitch still in progress at the end of the input.
    public mutating func finish(_ emit: (DetectorOutput) -> Void) {
        core.finish(emit)
    }
}

/// Squared length of the first three lanes (the axes; the fourth is padding).
@inline(__always)
func norm2(_ v: SIMD4<Double>) -> Double {
    v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
}

/// Tuning constants, all in physical units so they hold at any rate.
enum Tuning {
    /// Target internal rate in Hz: inputs are box-averaged down to between this and twice it.
    static let internalRate = 200.0
    /// Twitch band, Hz.
    static let bandLow = 9.0
    static let bandHigh = 40.0
    /// Upper part of the twitch band, above tremor, with its own floor, Hz.
    static let upperBandLow = 15.0
    /// Tremor background: whole-band floor over upper-band floor (energies) above this.
    static let tremorIndex = 3.0
    /// Under tremor, candidates slower than this (Hz) need `tremorTriggerFactor` times the
    /// threshold in the whole band, unless they also pass it in the upper band.
    static let tremorMaxFrequency = 13.0
    static let tremorTriggerFactor = 2.0
    /// Knock band: high-pass at this (or 0.35 of the internal rate, if lower), Hz.
    static let knockBand = 70.0
    /// Envelope smoothing, s.
    static let envelopeTau = 0.008
    /// Noise-floor time constant, s.
    static let floorTau = 2.0
    /// Noise-floor time constant during warm-up, s.
    static let warmFloorTau = 0.2
    /// Warm-up after a (re)start, s: no detection while the filters and floor settle.
    static let warmup = 1.5
    /// A sample's band energy enters the floor clipped at this many times the floor.
    static let floorClip = 9.0
    /// Movement low-pass, Hz, gravity time constant, s, and RMS smoothing of the movement, s.
    static let movementLowPass = 1.5
    static let gravityTau = 1.5
    /// Gravity time constant while the limb is active, s, so a new posture is learnt quickly.
    static let activeGravityTau = 0.25
    static let movementTau = 0.2
    /// Movement above this (mg, RMS of the 0-1.5 Hz deviation from gravity) for `movementPersist`
    /// seconds, or above `movementOn * movementBurst` at once, makes the limb active. The delay
    /// keeps a large twitch, whose own slow component can reach the threshold briefly, from
    /// being taken for movement.
    static let movementOn = 12.0
    static let movementPersist = 0.3
    /// On a noisy sensor the movement threshold is at least this times the rest noise floor.
    static let movementOverFloor = 1.0
    static let movementBurst = 3.0
    /// Time after the last movement before the limb is at rest again, s.
    static let activeHold = 1.5
    /// Trigger ratio over the floor (envelope amplitude) at sensitivity 0 and 1.
    static let triggerAtZero = 6.0
    static let triggerAtOne = 1.8
    /// A candidate ends when the envelope has been below this ratio for `mergeGap` s.
    static let releaseRatio = 2.0
    static let mergeGap = 0.07
    /// Zero crossings count only between excursions beyond this many per-axis noise RMS.
    static let crossingHysteresis = 1.5
    /// Onset: the last time the envelope was below this ratio before the trigger.
    static let onsetRatio = 2.0
    /// Accepted candidate durations, s.
    static let minDuration = 0.025
    static let maxDuration = 0.5
    /// Accepted dominant frequencies, Hz.
    static let minFrequency = 4.0
    static let maxFrequency = 45.0
    /// Knock: peak high-band envelope over peak twitch-band envelope above this.
    static let knockRatio = 0.5
    /// Half-cycles that make a candidate clearly ringing rather than a spike.
    static let ringingHalfCycles = 6.0
    /// A candidate is held this long after it ends before it is reported, s, in case the limb
    /// turns out to be starting a movement.
    static let confirmDelay = 0.5
    /// Not worn: no orientation change beyond `stillMg` for this long, s.
    static let notWornAfter = 900.0
    static let stillMg = 5.0
}

/// The detector after resampling: one call per point of the uniform internal grid.
struct DetectorCore: Sendable {
    let rate: Double
    let location: String
    let triggerRatio: Double

    private let envAlpha: Double
    private let floorAlpha: Double
    private let warmFloorAlpha: Double
    private let gravityAlpha: Double
    private let movementAlpha: Double
    private let activeGravityAlpha: Double
    private var movementEnergy = 0.0
    private var movementSince = Double.infinity
    /// The noise floor as it was when the limb was last at rest, mg.
    private var restFloorMg = 0.0

    private var bandHP: Biquad
    private var bandLP: Biquad
    private var upperHP: Biquad
    private var knockHP: Biquad
    private var moveLP: Biquad
    private var gravity = SIMD4<Double>.zero

    private var primed = false
    private var startTime = 0.0
    private var envEnergy = 0.0
    private var upperEnergy = 0.0
    private var knockEnergy = 0.0
    /// Noise floor as a band energy (g^2), for the whole band and its upper part.
    private var floorEnergy = 0.0
    private var upperFloorEnergy = 0.0
    private var knockFloorEnergy = 0.0

    private(set) var state: LimbState = .rest
    private var lastMovement = -Double.infinity
    private var stillReference = SIMD4<Double>.zero
    private var stillSince = 0.0

    private var lastQuiet = 0.0
    private var previousBand = SIMD4<Double>.zero
    private var candidate: Candidate? {
        didSet { hasCandidate = candidate != nil }
    }
    private var hasCandidate = false
    /// A candidate ran too long; no new one until the envelope is back near the floor.
    private var sustained = false
    /// Squared magnitude of the 9 Hz high-passed acceleration since the candidate triggered: a
    /// fixed ring sized at init for the longest candidate, used to measure its sharpness.
    private var shape: ContiguousArray<Double>
    private var shapeCount = 0
    private var pending: TwitchEvent? {
        didSet { hasPending = pending != nil }
    }
    private var hasPending = false
    private var pendingEnd = 0.0

    /// Development aid: every closed candidate with its measurements and verdict, when enabled.
    var candidateLog: [CandidateRecord]?

    struct CandidateRecord: Sendable {
        var onset: Double
        var duration: Double
        var snr: Double
        var knockRatio: Double
        var frequency: Double
        var peakMg: Double
        var tremorIndex = 0.0
        var aboveHalf = 0.0
        var knockExcess = 0.0
        var halfCycles = 0.0
        var verdict: String
    }

    /// Running measurements of an open candidate.
    struct Candidate {
        var onset: Double
        var lastLoud: Double
        var floorEnergy: Double
        var knockFloorEnergy = 0.0
        /// Whole-band floor over upper-band floor when the candidate opened.
        var tremorIndex: Double
        /// Peak envelope over floor (energies), in the whole band and in the upper band.
        var peakRatio = 0.0
        var peakUpperRatio = 0.0
        var peakEnvelope = 0.0
        var peakKnock = 0.0
        var peakVector = 0.0
        var axisEnergy = SIMD4<Double>.zero
        /// Per axis: +1 or -1 once the band signal has gone beyond the hysteresis, else 0.
        var polarity = SIMD4<Double>.zero
        var crossings = SIMD4<Double>.zero
        var firstCrossing = SIMD4<Double>(repeating: -1)
        var lastCrossing = SIMD4<Double>.zero
    }

    init(rate: Double, sensitivity: Double, location: String) {
        self.rate = rate
        self.location = location
        triggerRatio = Tuning.triggerAtZero * pow(Tuning.triggerAtOne / Tuning.triggerAtZero, sensitivity)
        envAlpha = onePoleAlpha(tau: Tuning.envelopeTau, rate: rate)
        floorAlpha = onePoleAlpha(tau: Tuning.floorTau, rate: rate)
        warmFloorAlpha = onePoleAlpha(tau: Tuning.warmFloorTau, rate: rate)
        gravityAlpha = onePoleAlpha(tau: Tuning.gravityTau, rate: rate)
        movementAlpha = onePoleAlpha(tau: Tuning.movementTau, rate: rate)
        activeGravityAlpha = onePoleAlpha(tau: Tuning.activeGravityTau, rate: rate)
        bandHP = Biquad(.highPass, cutoff: Tuning.bandLow, rate: rate)
        bandLP = Biquad(.lowPass, cutoff: Tuning.bandHigh, rate: rate)
        upperHP = Biquad(.highPass, cutoff: Tuning.upperBandLow, rate: rate)
        knockHP = Biquad(.highPass, cutoff: min(Tuning.knockBand, 0.35 * rate), rate: rate)
        moveLP = Biquad(.lowPass, cutoff: Tuning.movementLowPass, rate: rate)
        let capacity = Int(((Tuning.maxDuration + Tuning.mergeGap) * rate).rounded(.up)) + 2
        shape = ContiguousArray(repeating: 0, count: capacity)
    }

    var noiseFloorMg: Double { floorEnergy.squareRoot() * 1000 }

    /// Starts over after a gap in the input: filters re-prime, the floor is kept.
    mutating func restart() {
        primed = false
        candidate = nil
    }

    @inline(__always)
    mutating func step(time t: Double, _ a: SIMD4<Double>, _ emit: (DetectorOutput) -> Void) {
        if !primed {
            primed = true
            startTime = t
            bandHP.prime(a)
            bandLP.prime(.zero)
            upperHP.prime(.zero)
            knockHP.prime(a)
            moveLP.prime(a)
            gravity = a
            movementEnergy = 0
            movementSince = .infinity
            stillReference = a
            stillSince = t
            lastQuiet = t
            previousBand = .zero
        }
        // Filters.
        let hp = bandHP.step(a)
        let band = bandLP.step(hp)
        let upper = upperHP.step(band)
        let high = knockHP.step(a)
        let slow = moveLP.step(a)
        gravity += (a - gravity) * (state == .active ? activeGravityAlpha : gravityAlpha)
        let e = norm2(band)
        let eh = norm2(high)
        let eu = norm2(upper)
        envEnergy += (e - envEnergy) * envAlpha
        upperEnergy += (eu - upperEnergy) * envAlpha
        knockEnergy += (eh - knockEnergy) * envAlpha
        let dev = (slow - gravity) * 1000
        movementEnergy += (norm2(dev) - movementEnergy) * movementAlpha
        let movementMg = movementEnergy.squareRoot()

        let warming = t - startTime < Tuning.warmup
        // Noise floor: clipped slow average, frozen inside a candidate.
        if !hasCandidate, state != .active {
            if warming {
                floorEnergy += (e - floorEnergy) * warmFloorAlpha
                upperFloorEnergy += (eu - upperFloorEnergy) * warmFloorAlpha
                knockFloorEnergy += (eh - knockFloorEnergy) * warmFloorAlpha
            } else {
                floorEnergy += (min(e, Tuning.floorClip * floorEnergy) - floorEnergy) * floorAlpha
                upperFloorEnergy +=
                    (min(eu, Tuning.floorClip * upperFloorEnergy) - upperFloorEnergy) * floorAlpha
                knockFloorEnergy +=
                    (min(eh, Tuning.floorClip * knockFloorEnergy) - knockFloorEnergy) * floorAlpha
            }
        }
        let floor = max(floorEnergy, 1e-12)
        let upperFloor = max(upperFloorEnergy, 1e-12)

        // Limb state.
        if state != .active { restFloorMg = floor.squareRoot() * 1000 }
        let movementOn = max(Tuning.movementOn, Tuning.movementOverFloor * restFloorMg)
        if movementMg > movementOn {
            movementSince = min(movementSince, t)
            if t - movementSince >= Tuning.movementPersist
                || movementMg > movementOn * Tuning.movementBurst
            {
                lastMovement = t
            }
        } else {
            movementSince = .infinity
        }
        updateState(time: t, warming: warming, emit)

        // Pending twitch: reported once the limb has stayed at rest a little after it.
        if hasPending {
            if state != .rest && state != .notWorn {
                if let p = pending {
                    candidateLog?.append(
                        CandidateRecord(
                            onset: p.onset, duration: 0, snr: p.snr, knockRatio: 0, frequency: p.frequencyHz,
                            peakMg: p.peakMg, verdict: "moved"))
                }
                pending = nil
            } else if t - pendingEnd >= Tuning.confirmDelay, let event = pending {
                pending = nil
                emit(.twitch(event))
            }
        }

        let wideRatio = envEnergy / floor
        let upperRatio = upperEnergy / upperFloor
        let ratio2 = max(wideRatio, upperRatio)
        let atRest = state != .active && !warming
        if hasCandidate, var c = candidate {
            if !atRest {
                candidate = nil
            } else {
                // Half-cycles, counted with hysteresis so noise near zero does not add any.
                let h = Tuning.crossingHysteresis * (c.floorEnergy / 3).squareRoot()
                for i in 0..<3 {
                    let p: Double = band[i] > h ? 1 : (band[i] < -h ? -1 : 0)
                    guard p != 0, p != c.polarity[i] else { continue }
                    if c.polarity[i] != 0 {
                        c.crossings[i] += 1
                        c.lastCrossing[i] = t
                    } else {
                        c.firstCrossing[i] = t
                    }
                    c.polarity[i] = p
                }
                c.axisEnergy += band * band
                recordShape(norm2(hp))
                c.peakEnvelope = max(c.peakEnvelope, envEnergy)
                c.peakRatio = max(c.peakRatio, wideRatio)
                c.peakUpperRatio = max(c.peakUpperRatio, upperRatio)
                c.peakKnock = max(c.peakKnock, knockEnergy)
                c.peakVector = max(c.peakVector, e)
                let releaseRatio2 = Tuning.releaseRatio * Tuning.releaseRatio
                if ratio2 >= releaseRatio2 { c.lastLoud = t }
                if t - c.lastLoud >= Tuning.mergeGap {
                    candidate = nil
                    close(c, now: t, emit)
                } else if t - c.onset > Tuning.maxDuration {
                    // Sustained: vibration or tremor, not a twitch. Wait for quiet again while
                    // the floor catches up with it.
                    candidate = nil
                    sustained = true
                    lastQuiet = t
                } else {
                    candidate = c
                }
            }
        } else if atRest {
            let onset2 = Tuning.onsetRatio * Tuning.onsetRatio
            if ratio2 < onset2 {
                lastQuiet = t
                sustained = false
            } else if !sustained, ratio2 >= triggerRatio * triggerRatio {
                var c = Candidate(
                    onset: lastQuiet, lastLoud: t, floorEnergy: floor, tremorIndex: floor / upperFloor)
                c.knockFloorEnergy = knockFloorEnergy
                c.peakEnvelope = envEnergy
                c.peakRatio = wideRatio
                c.peakUpperRatio = upperRatio
                c.peakKnock = knockEnergy
                c.peakVector = e
                candidate = c
                shapeCount = 0
                recordShape(norm2(hp))
            }
        } else {
            lastQuiet = t
        }
        previousBand = band
    }

    @inline(__always)
    private mutating func recordShape(_ m2: Double) {
        let n = shape.count
        shape.withUnsafeMutableBufferPointer { $0[shapeCount % n] = m2 }
        shapeCount &+= 1
    }

    /// Time, in s, during which the high-passed magnitude stayed above half its peak. A knock
    /// is one sharp spike (a few ms); a twitch swings through one to three full cycles.
    private func sharpness() -> Double {
        let n = min(shapeCount, shape.count)
        guard n > 0 else { return 0 }
        return shape.withUnsafeBufferPointer { buf in
            var peak = 0.0
            for i in 0..<n { peak = max(peak, buf[i]) }
            let half = peak / 4
            var above = 0
            for i in 0..<n where buf[i] >= half { above += 1 }
            return Double(above) / rate
        }
    }

    private mutating func updateState(time t: Double, warming: Bool, _ emit: (DetectorOutput) -> Void) {
        let moving = t - lastMovement < Tuning.activeHold
        let d = (gravity - stillReference) * 1000
        if norm2(d) > Tuning.stillMg * Tuning.stillMg || moving {
            stillReference = gravity
            stillSince = t
        }
        let next: LimbState
        if moving {
            next = .active
        } else if t - stillSince >= Tuning.notWornAfter {
            next = .notWorn
        } else {
            next = .rest
        }
        if next != state {
            state = next
            emit(.state(StateChange(time: t, state: next)))
        }
    }

    /// Decides whether a closed candidate is a twitch.
    private mutating func close(_ c: Candidate, now t: Double, _ emit: (DetectorOutput) -> Void) {
        let end = c.lastLoud
        let duration = end - c.onset
        lastQuiet = t
        var record = CandidateRecord(
            onset: c.onset, duration: duration, snr: max(c.peakRatio, c.peakUpperRatio).squareRoot(),
            knockRatio: 0, frequency: 0,
            peakMg: c.peakVector.squareRoot() * 1000, verdict: "")
        record.tremorIndex = c.tremorIndex
        record.aboveHalf = sharpness()
        defer { candidateLog?.append(record) }
        guard duration >= Tuning.minDuration, duration <= Tuning.maxDuration else {
            record.verdict = "duration"
            return
        }
        var axisIndex = 0
        for i in 1..<3 where c.axisEnergy[i] > c.axisEnergy[axisIndex] { axisIndex = i }
        let n = c.crossings[axisIndex]
        var frequency = 0.0
        if n >= 1 {
            // From the first excursion beyond the hysteresis on one side to the last beyond it
            // on either side: n half periods.
            frequency = n / (2 * max(c.lastCrossing[axisIndex] - c.firstCrossing[axisIndex], 1 / rate))
        } else {
            frequency = 1 / (2 * max(duration, 1 / rate))
        }
        record.frequency = frequency
        record.halfCycles = n
        // Knock: broadband, so the high band carries far more than an oscillation at the
        // candidate's own frequency would put there.
        let expected = knockHP.magnitude(at: frequency, rate: rate)
            / max(bandHP.magnitude(at: frequency, rate: rate) * bandLP.magnitude(at: frequency, rate: rate), 1e-9)
        // Both peaks above their own noise floors, so noise in the knock band does not make a
        // small twitch look like a knock.
        let knockRatio =
            (max(c.peakKnock - c.knockFloorEnergy, 0) / max(c.peakEnvelope - c.floorEnergy, 1e-12))
            .squareRoot()
        record.knockExcess = knockRatio / max(expected, 1e-9)
        record.knockRatio = knockRatio
        // A clearly ringing candidate (several half-cycles) is allowed what its own frequency
        // leaks into the knock band; that matters at low rates, where the bands are close.
        let allowance = n >= Tuning.ringingHalfCycles ? expected : 0
        if knockRatio > Tuning.knockRatio + allowance {
            lastMovement = t
            record.verdict = "knock"
            return
        }
        guard frequency >= Tuning.minFrequency, frequency <= Tuning.maxFrequency else {
            record.verdict = "frequency"
            return
        }
        record.verdict = "twitch"
        let snr = max(c.peakRatio, c.peakUpperRatio).squareRoot()
        // Under tremor (the whole-band floor well above the upper band's), a slow candidate that
        // stands out only in the whole band is most likely a tremor burst: ask for more.
        if c.tremorIndex > Tuning.tremorIndex, frequency < Tuning.tremorMaxFrequency,
            c.peakUpperRatio < triggerRatio * triggerRatio,
            c.peakRatio < Tuning.tremorTriggerFactor * Tuning.tremorTriggerFactor * triggerRatio * triggerRatio
        {
            record.verdict = "tremor"
            return
        }
        // Confidence: how far above threshold, on a log scale, saturating at 4x the threshold.
        let margin = log(snr / triggerRatio) / log(4.0)
        let confidence = min(max(0.5 + 0.5 * margin, 0), 1)
        let axis: Axis = axisIndex == 0 ? .x : (axisIndex == 1 ? .y : .z)
        let event = TwitchEvent(
            onset: c.onset, durationMs: duration * 1000, peakMg: c.peakVector.squareRoot() * 1000,
            axis: axis, frequencyHz: frequency, snr: snr, confidence: confidence, location: location)
        if state == .notWorn {
            // A twitch means the sensor is on a limb after all.
            stillSince = t
        }
        if let previous = pending {
            emit(.twitch(previous))
        }
        pending = event
        pendingEnd = end
    }

    mutating func finish(_ emit: (DetectorOutput) -> Void) {
        if let c = candidate {
            // Closed as if the input had gone quiet; one still loud at the end is judged on
            // what was seen, and cannot pass as a twitch if it already ran too long.
            candidate = nil
            close(c, now: c.lastLoud + Tuning.mergeGap, emit)
        }
        if let event = pending {
            pending = nil
            emit(.twitch(event))
        }
    }
}
