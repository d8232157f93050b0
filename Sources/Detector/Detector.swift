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
/// The value sets how far the smoothed 9-40 Hz envelope must rise above the adaptive noise floor
/// (see ``TwitchDetector/threshold``), geometrically from 6 times the floor at 0 to 1.8 times at
/// 1; the default 0.5 needs about 3.3 times.
///
/// What the default trades (measured, BENCHMARKS.md "Detector against real life"): on the
/// labelled development traces it finds 93.5 % of the twitches a sensor can resolve (peak at
/// least five times its in-band noise), with no false twitch. On a real 21-hour wrist recording
/// that nobody labelled (day, evening, a night) it reports 1.9 events an hour of recording (3.0
/// an hour of rest), none above the motor-unit ceiling; what remains are small, sharp movements
/// of a hand that look like twitches in every measurement the detector makes. Raising it finds
/// twitches nearer the noise floor at a steep price (at 0.6: recall 93.75 %, precision 98.7 %,
/// 3.6 false twitches per hour of rest, 5.8 events an hour on the wrist recording); lowering it
/// keeps only larger, clearer twitches (at 0.4: recall 88.5 %, precision 100 %, 1.1 an hour on
/// the wrist recording). Most of what it misses is within twice the resolvable floor, or on
/// 100 Hz sensors, where fast twitches and knocks look alike.
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
    /// Also report every candidate with its measurements and verdict (``DetectorOutput/candidate(_:)``).
    /// Off, it costs nothing: no report is built.
    public var explain: Bool

    public init(
        sampleRate: Double, sensitivity: Sensitivity = .normal, location: String = "unknown",
        explain: Bool = false
    ) {
        self.sampleRate = sampleRate
        self.sensitivity = sensitivity
        self.location = location
        self.explain = explain
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
    /// No samples between two times (longer than the resampler bridges, 0.25 s or more): the
    /// time is neither rest nor movement. The limb state resumes after it.
    case gap(SampleGap)
    /// A candidate and why it was kept or dropped; only with ``DetectorConfiguration/explain``.
    case candidate(CandidateReport)
}

/// The streaming twitch detector. Pure computation: no I/O, no clocks, no allocation per sample.
///
/// How it works, in order, for every sample:
/// 1. Resampling: fast sensors are box-averaged in blocks of `floor(rate / 200)` samples (an
///    internal rate of 200-400 Hz; sensors under 400 Hz are kept at their own rate) and linearly
///    interpolated onto a uniform grid, so irregular timestamps (phone logging jitter, dropped
///    samples) and any input rate give the same downstream processing. A gap longer than
///    0.25 s restarts the filters.
/// 2. Filters (per axis, cut-offs in Hz, computed from the internal rate): a 9-40 Hz band for
///    twitches, its 15-40 Hz upper part, which tremor barely reaches, and two narrower
///    sub-bands (9-15 and 24-40 Hz) closer to a single twitch's own bandwidth; a high band (above
///    70 Hz, or 0.35 of the internal rate) for the broadband signature of knocks; a 1.5 Hz
///    low-pass against a 1.5 s gravity estimate for movement and posture shifts.
/// 3. Noise floors, one per band: a slow (2 s) average of the band energy, each sample clipped
///    at 9 times the floor so single bursts barely move it, held while a candidate is open and
///    while the limb is active. They follow the sensor's own noise, slow drifts in it, and
///    sustained tremor or vibration.
/// 4. The limb state: 0-1.5 Hz movement above 12 mg RMS (or the rest noise floor, on a noisy
///    sensor) for 0.3 s, or a knock, makes the limb `active` (voluntary movement, walking,
///    posture shifts); it is at `rest` again 1.5 s after the last movement. It is `notWorn`
///    when it shows none of the micro-motion of a resting limb (breath and pulse: 0.1-1.5 Hz
///    motion beyond the sensor's own noise, measured in 10 s blocks) for a minute of stillness,
///    dated from the first motionless block, so a sensor put on a table is known within about
///    80 s. A sensor too noisy to see that motion (over 0.6 mg RMS of noise in that band: an
///    ADXL345, an MPU-6050, a GENEActiv) falls back on 15 minutes without any change of
///    orientation. Not worn is reported, and leaves the rate; the detector keeps looking, and
///    a twitch or micro-motion brings it back to `rest`. A hole in the samples longer than the
///    resampler bridges is reported as ``DetectorOutput/gap(_:)``: neither rest nor movement.
/// 5. Candidates: the envelope of any band rising above ``threshold`` times its floor (a little
///    more for the narrow sub-bands, which give noise more chances) opens
///    a candidate, with its onset where the envelope last left twice the floor; it closes when
///    the envelope has stayed under twice the floor for 70 ms, so the discharges of a doublet
///    30-40 ms apart make one twitch (a large twitch also ends when its ringing falls to a
///    quarter of its own peak). A new twitch rising out of the ringing of the last one (in any
///    band, twice the level it had fallen to, from 80 ms after the onset) closes the candidate
///    there and opens the next, so bursts of twitches 0.1-0.5 s apart stay separate events.
///    A candidate becomes a twitch only if the limb stayed at rest
///    through it and for 1 s after, it lasted 25-500 ms (sustained vibration and tremor
///    bursts last longer), its high-band share is not that of a knock, its dominant frequency
///    (half-cycles counted with hysteresis on the dominant axis, to within a sample) is within
///    4-45 Hz, under
///    tremor a slow candidate stands well out of the tremor, and, when the limb made small
///    movements in the last seconds (more than twice its quiet level, but under the movement
///    threshold), it is half as loud again as the threshold asks. Twitches waiting out that
///    second are held in a small fixed ring, so a burst is confirmed (or dropped by a starting
///    movement) one by one; a twitch is reported about 1.1-1.6 s after its onset.
/// 6. What real movement has that a twitch has not (issue 9, measured on a real 21-hour wrist
///    recording): a twitch is rejected when it is larger than one motor unit can make at the
///    skin (``TwitchDetector/motorUnitCeilingMg``, 300 mg); when the limb's orientation 1 s after
///    it differs from before it by more than 7 mg, four times what the sensor's noise gives
///    that comparison, or three times the limb's own quiet sway (a twitch moves tissue, not the
///    limb); and, when the 15-40 Hz floor is above 1.5 times its quiet level of the last
///    minutes (working muscles, a busy hand) and no tremor explains it, unless it stands 1.6
///    times the threshold out of that floor. More from the same recording: a twitch vibrates
///    along one line (one motor unit pulling along its fibres), so a candidate with energy
///    along a second direction more than 15 times the noise's and under 88 % of it along the
///    main one is the limb itself (``CandidateVerdict/multiaxial``); within 1 s after the limb
///    came to rest it needs twice the threshold (the limb is still settling); after the limb
///    started moving twice within 50 s it needs 84 % of its energy along one direction, and
///    after four times 1.5 times the threshold (a hand fidgeting); and a slow candidate (under
///    11 Hz) with a knock ratio above 0.39 is a jolt. Each candidate's measurements and verdict
///    (``CandidateReport``) are emitted when ``DetectorConfiguration/explain`` is on.
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
            location: configuration.location, explain: configuration.explain)
    }

    /// The internal rate the detector runs at after resampling, in Hz.
    public var internalRate: Double { 1 / resampler.period }

    /// The current adaptive noise floor: RMS of the 9-40 Hz band over all three axes, in mg.
    public var noiseFloorMg: Double { core.noiseFloorMg }

    /// The threshold in multiples of the noise floor that the twitch envelope must exceed.
    public var threshold: Double { core.triggerRatio }

    /// The largest twitch one motor unit can make at the skin, mg; a candidate above it is a
    /// movement (verdict ``CandidateVerdict/tooLarge``), whatever else it looks like.
    ///
    /// A fasciculation is the twitch of a single motor unit. Measured at the skin with an
    /// accelerometer, single units of hand muscles give 11-32 mm/s^2 peak to peak (1-3 mg); the
    /// largest units (calf: gastrocnemius and soleus units of up to about 2000 fibres) make
    /// fasciculations visible through the skin, tens of mg. A bound from mechanics: a twitch
    /// moves the tissue under the sensor locally by at most about half a millimetre (ultrasound
    /// sees fasciculations as local displacements, not limb movements) within a single unit's
    /// contraction time of 35-100 ms; a half-sine displacement of amplitude d over time T peaks
    /// at d (pi / T)^2 of acceleration, 0.5 mm over 40 ms giving 3.1 m/s^2, about 300 mg. Above
    /// that it is many units at once (a voluntary contraction, a jerk, a startle) or a knock.
    /// The one ceiling serves every site: the detector does not know its site, and it is
    /// generous on a small hand or wrist muscle, where a real single unit makes a few mg, but it
    /// must not drop the largest calf twitches. The measured peak includes the sensor's noise,
    /// so the ceiling is applied to exactly the number reported as `peak_mg`.
    public static let motorUnitCeilingMg = 300.0

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
        // A hole too long to bridge is reported as a gap (before the samples after it) and
        // restarts the filters, inside the resampler, which knows the previous sample's time.
        _ = resampler.feed(time: time, value: v, into: &core, emit)
    }

    /// Flushes a twitch still in progress at the end of the input.
    public mutating func finish(_ emit: (DetectorOutput) -> Void) {
        core.finish(emit)
    }
}

/// Eigenvalues, largest first, of the symmetric 3x3 matrix with diagonal `d` (lanes 0-2) and
/// off-diagonal `o` (xy, xz, yz), in closed form (the trigonometric solution of the
/// characteristic cubic; a symmetric matrix has three real roots).
func symmetricEigenvalues(_ d: SIMD4<Double>, _ o: SIMD4<Double>) -> (Double, Double, Double) {
    let p1 = o[0] * o[0] + o[1] * o[1] + o[2] * o[2]
    let q = (d[0] + d[1] + d[2]) / 3
    let p2 = (d[0] - q) * (d[0] - q) + (d[1] - q) * (d[1] - q) + (d[2] - q) * (d[2] - q) + 2 * p1
    guard p2 > 1e-300 * 6 else { return (q, q, q) }
    let p = (p2 / 6).squareRoot()
    // B = (A - qI) / p; r = det(B) / 2, clamped against rounding.
    let b00 = (d[0] - q) / p
    let b11 = (d[1] - q) / p
    let b22 = (d[2] - q) / p
    let b01 = o[0] / p
    let b02 = o[1] / p
    let b12 = o[2] / p
    let det = b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02) + b02 * (b01 * b12 - b11 * b02)
    let r = min(max(det / 2, -1), 1)
    let phi = acos(r) / 3
    let largest = q + 2 * p * cos(phi)
    let smallest = q + 2 * p * cos(phi + 2 * Double.pi / 3)
    return (largest, 3 * q - largest - smallest, smallest)
}

/// Lane-wise minimum, written out (the generic `pointwiseMin` is not inlined).
@inline(__always)
func lanewiseMin(_ a: SIMD4<Double>, _ b: SIMD4<Double>) -> SIMD4<Double> {
    SIMD4(min(a[0], b[0]), min(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
}

/// Each lane at least `floor`.
@inline(__always)
func lanewiseMax(_ a: SIMD4<Double>, _ floor: Double) -> SIMD4<Double> {
    SIMD4(max(a[0], floor), max(a[1], floor), max(a[2], floor), max(a[3], floor))
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
    /// Narrower sub-bands, each with its own floor: 24-40 Hz (a high-pass at this on the upper
    /// band) and about 9-15 Hz (the whole band minus its upper part), Hz.
    static let topBandLow = 24.0
    /// Sub-band envelope-over-floor ratios (energies) count at this weight: a 1.12x higher bar
    /// in amplitude, for the extra chances they give noise.
    static let subBandScale = 0.8
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
    static let warmup = 0.5
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
    /// ... or below this fraction of its own peak envelope (in energy: a quarter in amplitude).
    static let releaseOfPeak2 = 1.0 / 16
    /// A second twitch inside an open candidate: a peak follower of the envelope-over-floor
    /// (energy; instant attack, `splitHoldTau` s release, which bridges the ripple between the
    /// swings of one twitch) rises to `splitRise` times its lowest value since the candidate's
    /// first peak (twice in amplitude). The later swings of one twitch are smaller than the
    /// earlier ones and never qualify. Only from a trough `splitAfter` s or more after the onset,
    /// so the two discharges of a doublet 30-40 ms apart, and a slow twitch whose second swing
    /// is its largest, stay one twitch.
    static let splitRise = 4.0
    static let splitHoldTau = 0.06
    static let splitAfter = 0.08
    /// The shape ring also keeps this much before a candidate's trigger, s.
    static let shapeLead = 0.3
    /// The noise under a candidate's shape is measured over this much before its onset, s.
    static let spikeNoiseLead = 0.2
    /// How long the tail of a large candidate keeps a new one from starting in it, s.
    static let tailWindow = 0.3
    /// Quiet needed to end the lock-out after a sustained candidate, s (a cycle at 10 Hz).
    static let sustainedRelease = 0.1
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
    /// A candidate slower than `slowKnockFrequency` (Hz) puts almost nothing of its own into
    /// the knock band, so a knock ratio above `slowKnockRatio` already makes it a jolt (the
    /// wrist bumping, a tap), with the knock band's envelope only `slowKnockVisible` times its
    /// floor (amplitude): on a real wrist, most of the near-threshold slow candidates left were
    /// these.
    static let slowKnockFrequency = 11.0
    static let slowKnockRatio = 0.39
    static let slowKnockVisible = 1.5
    /// ... with the knock band's own envelope at least this many times its floor (amplitude).
    static let knockVisible = 3.0
    /// Share of a candidate's energy in its two largest samples above which it is a spike.
    static let spikeConcentration = 0.8
    /// Half-cycles that make a candidate clearly ringing rather than a spike.
    static let ringingHalfCycles = 6.0
    /// Unsettled limb: recent peak movement above `unsettledMg` and above
    /// `unsettledOverBaseline` times the quiet baseline; candidates then need
    /// `unsettledTriggerFactor` times the threshold.
    static let unsettledMg = 5.0
    static let unsettledOverBaseline = 2.0
    static let unsettledTriggerFactor = 1.5
    /// Recent movement is remembered (2 s decay) clipped at this times the movement threshold.
    static let unsettledClip = 3.0
    /// A candidate is held this long after it ends before it is reported, s, in case the limb
    /// turns out to be starting a movement, and so its orientation after it can be compared with
    /// before.
    static let confirmDelay = 1.0
    /// Orientation after a candidate: gravity averaged with this time constant (s), compared with
    /// the 1.5 s gravity estimate from before the onset.
    static let settleTau = 0.5
    /// A twitch leaves the limb where it was: an orientation change above this (mg), or above
    /// `orientationNoise` times what the sensor's noise alone gives the comparison, is movement.
    static let orientationMg = 7.0
    static let orientationNoise = 4.0
    /// ... or above this times the limb's own quiet sway (the slow movement level at rest).
    static let orientationOverSway = 3.0
    /// Twitch-band width used to turn the band's noise floor into a noise density, Hz.
    static let bandWidth = bandHigh - bandLow
    /// How slowly the upper band's quiet level rises after the floor, s.
    static let quietFloorTau = 300.0
    /// Busy: the upper band's floor above this times its quiet level (energy; 1.22 in
    /// amplitude). A relaxed limb's 15-40 Hz background is the sensor's noise; working muscles
    /// (a hand typing, holding, gripping) add the broadband sound of their contraction, and
    /// every small burst of it looks like a twitch. Candidates then need `busyTriggerFactor`
    /// times the threshold (not under tremor, see `tremorIndex`, whose harmonics raise it too).
    static let busyElevation = 1.5
    static let busyTriggerFactor = 1.4
    /// Restless: a limb that made at least `restlessMovements` movements in about the last
    /// minute, counted with this decay, s ... Movements are the candidates that show the limb
    /// itself moving: moved, reoriented, too large, sustained, unsettled, and knocks larger than
    /// a motor unit makes. Not `busy` ones (twitches raise the upper floor too) and not small
    /// knocks (at 100 Hz a 20-35 Hz twitch can look like one): dense twitching must not count
    /// itself as movement.
    static let restlessTau = 60.0
    static let restlessMovements = 2.0
    /// ... and whose upper-band floor is still above this times its quiet level (energy; 1.18
    /// in amplitude): the still moment between the movements of a busy hand, not rest. On the
    /// development traces no twitch has both (the densest twitching raises the floor, but comes
    /// without movements; the wrist evening moves, but its still moments are quiet).
    static let restlessElevation = 1.4
    /// Settling: a candidate starting within this long (s) after the limb came to rest needs
    /// `settlingTriggerFactor` times the threshold. The limb is still finding its place; the
    /// unsettled rule's 2 s memory of movement is not enough after a large one.
    static let settlingTime = 1.0
    static let settlingTriggerFactor = 2.0
    /// Fidgeting: the limb started moving at least `fidgetMovements` times (the size of the ring
    /// that keeps those times) within the last `fidgetWindow` s; candidates then need
    /// `fidgetTriggerFactor` times the threshold. A still moment between the restless
    /// movements of a hand at work is not rest.
    static let fidgetWindow = 50.0
    static let fidgetTriggerFactor = 1.5
    /// After two movement onsets within `fidgetWindow`, the polarization a candidate needs: a
    /// clean one-direction vibration, not the limb still swinging between movements.
    static let fidgetPolarization = 0.84
    /// Several axes: energy along a second direction above `secondAxisNoise` times what the
    /// sensor's noise puts there, and under `minPolarization` of the energy along the main one.
    static let secondAxisNoise = 15.0
    static let minPolarization = 0.88
    /// Twitches that can wait out the confirm delay at once (a dense burst); when full, the
    /// oldest is reported early.
    static let pendingCapacity = 16
    /// Not worn, slow rule: no orientation change beyond `stillMg` for this long, s. For sensors
    /// too noisy for the micro-motion rule.
    static let notWornAfter = 900.0
    static let stillMg = 5.0
    /// Not worn, micro-motion rule: a limb at rest still moves with breath and pulse
    /// (ballistocardiogram): 0.1-1.5 Hz motion of about 1-10 mg at the skin; a table does not.
    /// Measured in blocks of `microBlock` s, as the 0.1-1.5 Hz energy (the slow movement signal)
    /// minus what the sensor's white noise puts there (estimated from the knock band, scaled by
    /// the two bands' noise bandwidths). Not worn after `microQuietBlocks` still blocks in a row
    /// with less than `wornMotionMg` RMS of motion left; only where that noise in the band is
    /// under `microNoiseGateMg` RMS, so the measurement can tell (otherwise the slow rule).
    static let microBlock = 10.0
    static let microQuietBlocks = 6
    static let wornMotionMg = 0.4
    static let microNoiseGateMg = 0.6
}

/// The detector after resampling: one call per point of the uniform internal grid.
struct DetectorCore: Sendable {
    let rate: Double
    let location: String
    let triggerRatio: Double
    /// Build and emit a ``CandidateReport`` for every candidate.
    let explain: Bool

    private let envAlpha: Double
    private let floorAlpha: Double
    private let warmFloorAlpha: Double
    private let gravityAlpha: Double
    private let movementAlpha: Double
    private let activeGravityAlpha: Double
    private let splitHoldDecay: Double
    private var movementEnergy = 0.0
    private var movementSince = Double.infinity
    /// The noise floor as it was when the limb was last at rest, mg.
    private var restFloorMg = 0.0
    /// Peak movement over the last few seconds (decaying), mg.
    private var recentMovement = 0.0
    private let recentDecay: Double
    /// Typical movement reading at rest (sensor noise, breathing, pulse), mg.
    private var movementBaseline = 0.0
    private let baselineAlpha: Double
    private let baselineDownAlpha: Double

    private var bandHP: Biquad
    private var bandLP: Biquad
    private var upperHP: Biquad
    private var topHP: Biquad
    private var knockHP: Biquad
    private var moveLP: Biquad
    private var gravity = SIMD4<Double>.zero
    /// Gravity averaged over the last `settleTau`: the orientation after a candidate.
    private var settled = SIMD4<Double>.zero
    private let settleAlpha: Double
    /// Noise part of the orientation comparison, per unit of per-axis noise density (g^2/Hz):
    /// 3 axes x (1 / 4 tau) for each of the two one-pole averages compared.
    private let orientationNoiseGain: Double
    /// Micro-motion (not-worn) measurement: the current block's sum of the slow movement energy
    /// (mg^2) and its step count, how many still blocks in a row showed no motion beyond noise,
    /// and where the first of them started.
    private var microSum = 0.0
    /// Step index at which the current block ends.
    private var microBlockEnd = 0
    private let microBlockSteps: Int
    private var microQuiet = 0
    /// Whether the last block's noise let the micro-motion rule decide (then the slow rule,
    /// which would call a still but breathing limb not worn, stays out of it).
    private var microDecides = false
    private var microQuietStart = 0.0
    private var microBlockStart = 0.0
    /// White noise's energy in the slow movement signal over its energy in the knock band.
    private let microNoiseRatio: Double

    private var primed = false
    private var startTime = 0.0
    /// Envelopes (energies) of the twitch bands: whole, upper, top and low sub-bands.
    private var env = SIMD4<Double>.zero
    /// Their noise floors (energies), same order.
    private var floors = SIMD4<Double>.zero
    /// Weights of the bands' envelope-over-floor ratios in the trigger.
    private let bandWeights = SIMD4<Double>(1, 1, Tuning.subBandScale, Tuning.subBandScale)
    private var envEnergy: Double { env[0] }
    private var floorEnergy: Double { floors[0] }
    private var knockEnergy = 0.0
    private var knockFloorEnergy = 0.0
    /// The upper band's floor at its quietest lately: follows it down at once, up slowly.
    private var quietUpperFloor = 0.0
    /// Movement candidates lately, decaying with `restlessTau`, as of `movementCountTime`.
    private var movementCount = 0.0
    private var movementCountTime = 0.0
    private let quietAlpha: Double

    private(set) var state: LimbState = .rest
    /// When the limb last came to rest after moving.
    private var restSince = -Double.infinity
    /// The last `fidgetMovements` times the limb started moving, a ring (oldest at the head).
    private var activeOnsets = SIMD4<Double>(repeating: -Double.infinity)
    private var activeOnsetHead = 0
    private var lastMovement = -Double.infinity
    private var stillReference = SIMD4<Double>.zero
    private var stillSince = 0.0
    /// Time of the last state change reported.
    private var lastChange = -Double.infinity

    private var lastQuiet = 0.0
    private var lastQuietIndex = 0
    /// Internal steps since the start; indexes the shape ring.
    private var stepIndex = 0
    /// `stepIndex % shapeCapacity`, kept without a division per step.
    private var shapePosition = 0
    private let shapeCapacity: Int
    private var previousBand = SIMD4<Double>.zero
    private var candidate: Candidate? {
        didSet { hasCandidate = candidate != nil }
    }
    private var hasCandidate = false
    /// A candidate ran too long; no new one until the envelope is back near the floor.
    private var sustained = false
    private var wasQuiet = false
    private var quietSince = 0.0
    /// The ringing tail of the last candidate: for `tailWindow` after it closed, a new one must
    /// rise above the level at which the last one was let go.
    private var tailStart = -Double.infinity
    private var tailLevel = 0.0
    /// Squared magnitude of the 9 Hz high-passed acceleration since the candidate triggered: a
    /// fixed ring sized at init for the longest candidate, used to measure its sharpness.
    private var shape: ContiguousArray<Double>
    /// Twitches waiting out the confirm delay, oldest first: a fixed ring, so a burst of
    /// twitches is held (and confirmed or dropped) one by one, none reported early.
    private var pendingEvents: ContiguousArray<TwitchEvent>
    private var pendingEnds: ContiguousArray<Double>
    /// Gravity before each held twitch's onset, and its noise floor (energy).
    private var pendingBefore: ContiguousArray<SIMD4<Double>>
    private var pendingFloors: ContiguousArray<Double>
    /// Peak slow movement since each held twitch closed, mg.
    private var pendingAfter: ContiguousArray<Double>
    /// Each held twitch's measurements, for the explanation.
    private var pendingReports: ContiguousArray<CandidateReport>
    private var pendingHead = 0
    private var pendingCount = 0
    private var hasPending: Bool { pendingCount > 0 }

    /// Running measurements of an open candidate.
    struct Candidate {
        var onset: Double
        var lastLoud: Double
        var onsetIndex = 0
        var lastLoudIndex = 0
        var floorEnergy: Double
        var knockFloorEnergy = 0.0
        var recentMovement = 0.0
        var movementBaseline = 0.0
        /// Whole-band floor over upper-band floor when the candidate opened.
        var tremorIndex: Double
        /// Peak envelope over floor (energies), in the whole band and in the upper band.
        var peakRatio = 0.0
        var peakUpperRatio = 0.0
        var peakEnvelope = 0.0
        var peakKnock = 0.0
        var peakVector = 0.0
        var axisEnergy = SIMD4<Double>.zero
        /// The band signal's cross products (xy, xz, yz): with `axisEnergy`, its covariance.
        var crossEnergy = SIMD4<Double>.zero
        /// Steps accumulated into `axisEnergy`.
        var steps = 0.0
        /// `axisEnergy`, `crossEnergy` and `steps` as of the last loud step: the twitch itself,
        /// without the quiet tail that ends it.
        var loudAxisEnergy = SIMD4<Double>.zero
        var loudCrossEnergy = SIMD4<Double>.zero
        var loudSteps = 0.0
        /// Per axis: +1 or -1 once the band signal has gone beyond the hysteresis, else 0.
        var polarity = SIMD4<Double>.zero
        var crossings = SIMD4<Double>.zero
        var firstCrossing = SIMD4<Double>(repeating: -1)
        var lastCrossing = SIMD4<Double>.zero
        /// Per band: peak follower of the envelope-over-floor (energy); whether it has started
        /// to fall (1) or not (0); its lowest value since then, and where (time, step).
        var follower = SIMD4<Double>.zero
        var falling = SIMD4<Double>.zero
        var trough = SIMD4<Double>.zero
        var troughTime = SIMD4<Double>.zero
        var troughIndex = SIMD4<Int>.zero
        /// Opened by splitting the candidate before it.
        var splitFrom = false
        /// Gravity when it opened: the orientation before it.
        var gravityBefore = SIMD4<Double>.zero
        /// Upper-band floor over its quiet level when it opened.
        var elevation = 1.0
    }

    init(rate: Double, sensitivity: Double, location: String, explain: Bool = false) {
        self.rate = rate
        self.location = location
        self.explain = explain
        triggerRatio = Tuning.triggerAtZero * pow(Tuning.triggerAtOne / Tuning.triggerAtZero, sensitivity)
        envAlpha = onePoleAlpha(tau: Tuning.envelopeTau, rate: rate)
        floorAlpha = onePoleAlpha(tau: Tuning.floorTau, rate: rate)
        warmFloorAlpha = onePoleAlpha(tau: Tuning.warmFloorTau, rate: rate)
        gravityAlpha = onePoleAlpha(tau: Tuning.gravityTau, rate: rate)
        movementAlpha = onePoleAlpha(tau: Tuning.movementTau, rate: rate)
        activeGravityAlpha = onePoleAlpha(tau: Tuning.activeGravityTau, rate: rate)
        splitHoldDecay = 1 - onePoleAlpha(tau: Tuning.splitHoldTau, rate: rate)
        recentDecay = 1 - onePoleAlpha(tau: 2.0, rate: rate)
        baselineAlpha = onePoleAlpha(tau: 60.0, rate: rate)
        baselineDownAlpha = onePoleAlpha(tau: 5.0, rate: rate)
        quietAlpha = onePoleAlpha(tau: Tuning.quietFloorTau, rate: rate)
        bandHP = Biquad(.highPass, cutoff: Tuning.bandLow, rate: rate)
        bandLP = Biquad(.lowPass, cutoff: Tuning.bandHigh, rate: rate)
        upperHP = Biquad(.highPass, cutoff: Tuning.upperBandLow, rate: rate)
        topHP = Biquad(.highPass, cutoff: Tuning.topBandLow, rate: rate)
        knockHP = Biquad(.highPass, cutoff: min(Tuning.knockBand, 0.35 * rate), rate: rate)
        moveLP = Biquad(.lowPass, cutoff: Tuning.movementLowPass, rate: rate)
        let capacity =
            Int(((Tuning.maxDuration + Tuning.mergeGap + Tuning.shapeLead) * rate).rounded(.up)) + 2
        shape = ContiguousArray(repeating: 0, count: capacity)
        pendingEvents = ContiguousArray(
            repeating: TwitchEvent(
                onset: 0, durationMs: 0, peakMg: 0, axis: .x, frequencyHz: 0, snr: 0, confidence: 0,
                location: location),
            count: Tuning.pendingCapacity)
        pendingEnds = ContiguousArray(repeating: 0, count: Tuning.pendingCapacity)
        pendingBefore = ContiguousArray(repeating: .zero, count: Tuning.pendingCapacity)
        pendingFloors = ContiguousArray(repeating: 0, count: Tuning.pendingCapacity)
        pendingAfter = ContiguousArray(repeating: 0, count: Tuning.pendingCapacity)
        pendingReports = ContiguousArray(
            repeating: CandidateReport(onset: 0, verdict: .twitch), count: Tuning.pendingCapacity)
        shapeCapacity = capacity
        settleAlpha = onePoleAlpha(tau: Tuning.settleTau, rate: rate)
        orientationNoiseGain = 3 * (1 / (4 * Tuning.gravityTau) + 1 / (4 * Tuning.settleTau))
        microBlockSteps = max(1, Int((Tuning.microBlock * rate).rounded()))
        microNoiseRatio = DetectorCore.noiseBandwidthRatio(
            slow: moveLP, gravityAlpha: gravityAlpha, knock: knockHP, rate: rate)
    }

    /// White noise's energy in the slow movement signal (the 1.5 Hz low-pass minus the one-pole
    /// gravity estimate) over its energy in the knock band: the ratio of their noise
    /// bandwidths, integrated numerically from the filters' responses (once, at init).
    static func noiseBandwidthRatio(slow: Biquad, gravityAlpha: Double, knock: Biquad, rate: Double) -> Double
    {
        // The slow band is all below a few Hz: a fine grid up to 20 Hz for it, a coarse one over
        // the whole band for the knock band (both per Hz, so the ratio is of integrals).
        let nyquist = rate / 2
        let slowTop = min(20, nyquist)
        let n = 800
        var slowSum = 0.0
        var knockSum = 0.0
        for k in 1..<n {
            let f = Double(k) / Double(n) * slowTop
            let w = 2 * Double.pi * f / rate
            let (lr, li) = slow.response(at: f, rate: rate)
            // One-pole y += (x - y) a: H = a / (1 - (1 - a) e^-jw).
            let dr = 1 - (1 - gravityAlpha) * cos(w)
            let di = (1 - gravityAlpha) * sin(w)
            let d2 = dr * dr + di * di
            let gr = gravityAlpha * dr / d2
            let gi = -gravityAlpha * di / d2
            let er = lr - gr
            let ei = li - gi
            slowSum += (er * er + ei * ei) * slowTop / Double(n)
        }
        let m = 400
        for k in 1..<m {
            let g = knock.magnitude(at: Double(k) / Double(m) * nyquist, rate: rate)
            knockSum += g * g * nyquist / Double(m)
        }
        return knockSum > 0 ? slowSum / knockSum : 0
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
            topHP.prime(.zero)
            knockHP.prime(a)
            moveLP.prime(a)
            gravity = a
            settled = a
            microSum = 0
            microBlockEnd = stepIndex &+ microBlockSteps
            microQuiet = 0
            movementEnergy = 0
            movementSince = .infinity
            stillReference = a
            stillSince = t
            lastQuiet = t
            lastQuietIndex = stepIndex
            previousBand = .zero
        }
        // Filters.
        let hp = bandHP.step(a)
        let band = bandLP.step(hp)
        stepIndex &+= 1
        shapePosition += 1
        if shapePosition == shapeCapacity { shapePosition = 0 }
        let m2 = norm2(hp)
        let position = shapePosition
        shape.withUnsafeMutableBufferPointer { $0[position] = m2 }
        let upper = upperHP.step(band)
        let top = topHP.step(upper)
        // The part of the band below the upper band: its complement, without another filter.
        let low = band - upper
        let high = knockHP.step(a)
        let slow = moveLP.step(a)
        gravity += (a - gravity) * (state == .active ? activeGravityAlpha : gravityAlpha)
        let e = norm2(band)
        let eh = norm2(high)
        let energies = SIMD4(e, norm2(upper), norm2(top), norm2(low))
        env += (energies - env) * envAlpha
        knockEnergy += (eh - knockEnergy) * envAlpha
        settled += (a - settled) * settleAlpha
        let dev = (slow - gravity) * 1000
        let dev2 = norm2(dev)
        movementEnergy += (dev2 - movementEnergy) * movementAlpha
        microSum += dev2
        let movementMg = movementEnergy.squareRoot()
        // Clipped at a few times the movement threshold: a limb that has just stopped walking
        // is still settling for a few seconds, but not for as long as the walk was vigorous.
        recentMovement = max(
            min(movementMg, Tuning.unsettledClip * Tuning.movementOn), recentMovement * recentDecay)

        let warming = t - startTime < Tuning.warmup
        if state != .active {
            // A low-quantile tracker: falls quickly, rises slowly, so intermittent small
            // movements do not pull it up.
            if warming {
                movementBaseline += (movementMg - movementBaseline) * warmFloorAlpha
            } else if movementMg < movementBaseline {
                movementBaseline += (movementMg - movementBaseline) * baselineDownAlpha
            } else {
                movementBaseline +=
                    (min(movementMg, 2 * movementBaseline + 0.05) - movementBaseline) * baselineAlpha
            }
        }
        // Noise floor: clipped slow average, frozen inside a candidate.
        if !hasCandidate, state != .active {
            if warming {
                floors += (energies - floors) * warmFloorAlpha
                knockFloorEnergy += (eh - knockFloorEnergy) * warmFloorAlpha
                quietUpperFloor = floors[1]
            } else {
                floors += (lanewiseMin(energies, floors * Tuning.floorClip) - floors) * floorAlpha
                knockFloorEnergy +=
                    (min(eh, Tuning.floorClip * knockFloorEnergy) - knockFloorEnergy) * floorAlpha
                quietUpperFloor =
                    floors[1] < quietUpperFloor
                    ? floors[1] : quietUpperFloor + (floors[1] - quietUpperFloor) * quietAlpha
            }
        }
        let safeFloors = lanewiseMax(floors, 1e-12)
        let floor = safeFloors[0]

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
                noteMovements(pendingCount, at: t)
                if explain {
                    for k in 0..<pendingCount {
                        var report = pendingReports[(pendingHead + k) % Tuning.pendingCapacity]
                        report.verdict = .moved
                        emit(.candidate(report))
                    }
                }
                pendingCount = 0
            } else {
                var k = pendingHead
                for _ in 0..<pendingCount {
                    pendingAfter[k] = max(pendingAfter[k], movementMg)
                    k = k + 1 == Tuning.pendingCapacity ? 0 : k + 1
                }
                while pendingCount > 0, t - pendingEnds[pendingHead] >= Tuning.confirmDelay {
                    confirmOldestPending(emit)
                }
            }
        }

        // The narrower sub-bands match a twitch's own bandwidth better (less noise with the same
        // signal); as extra chances for noise to stand out they are held to a slightly higher bar.
        let ratios = env / safeFloors * bandWeights
        let wideRatio = ratios[0]
        let upperRatio = max(ratios[1], ratios[2], ratios[3])
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
                c.crossEnergy += SIMD4(band[0], band[0], band[1], 0) * SIMD4(band[1], band[2], band[2], 0)
                c.steps += 1
                c.peakEnvelope = max(c.peakEnvelope, envEnergy)
                c.peakRatio = max(c.peakRatio, wideRatio)
                c.peakUpperRatio = max(c.peakUpperRatio, upperRatio)
                c.peakKnock = max(c.peakKnock, knockEnergy)
                c.peakVector = max(c.peakVector, e)
                // Loud while above twice the floor and above a quarter of the candidate's own
                // peak: a large twitch ends when its ringing has died down relative to itself,
                // not only when it is back in the noise.
                let release = max(
                    Tuning.releaseRatio * Tuning.releaseRatio, Tuning.releaseOfPeak2 * peakRatio(c))
                if ratio2 >= release {
                    c.lastLoud = t
                    c.lastLoudIndex = stepIndex
                    c.loudAxisEnergy = c.axisEnergy
                    c.loudCrossEnergy = c.crossEnergy
                    c.loudSteps = c.steps
                }
                // A new twitch rising out of the ringing of the last one: close that one at the
                // trough between them and start the new one there.
                // Each band on its own: a new twitch at another frequency than the last rises
                // in another band than the one the last is ringing in.
                let trigger2 = triggerRatio * triggerRatio
                var splitBand = -1
                for i in 0..<4 {
                    let decayed = c.follower[i] * splitHoldDecay
                    if ratios[i] < decayed { c.falling[i] = 1 }
                    c.follower[i] = max(ratios[i], decayed)
                    if c.falling[i] == 0 || c.follower[i] < c.trough[i] {
                        c.trough[i] = c.follower[i]
                        c.troughTime[i] = t
                        c.troughIndex[i] = stepIndex
                    } else if c.follower[i] >= Tuning.splitRise * c.trough[i], ratios[i] >= trigger2,
                        c.troughTime[i] - c.onset >= Tuning.splitAfter
                    {
                        splitBand = i
                    }
                }
                if splitBand >= 0 {
                    let onset = c.troughTime[splitBand]
                    let onsetIndex = c.troughIndex[splitBand]
                    c.lastLoud = onset
                    c.lastLoudIndex = onsetIndex
                    candidate = nil
                    close(c, now: t, emit)
                    if state != .active {
                        var next = openCandidate(
                            at: t, onset: onset, onsetIndex: onsetIndex, ratios: ratios, e: e)
                        next.splitFrom = true
                        candidate = next
                    }
                } else if t - c.lastLoud >= Tuning.mergeGap {
                    candidate = nil
                    close(c, now: t, emit)
                } else if t - c.onset > Tuning.maxDuration {
                    // Sustained: vibration or tremor, not a twitch. Wait for quiet again while
                    // the floor catches up with it.
                    candidate = nil
                    sustained = true
                    if c.splitFrom, pendingCount > 0 {
                        // Split from a twitch just before it: that was the start of the same
                        // waxing vibration or tremor, not a twitch of its own.
                        let newest = (pendingHead + pendingCount - 1) % Tuning.pendingCapacity
                        if pendingEnds[newest] == c.onset {
                            pendingCount -= 1
                            noteMovements(1, at: t)
                            if explain {
                                var report = pendingReports[newest]
                                report.verdict = .sustained
                                emit(.candidate(report))
                            }
                        }
                    }
                    noteMovements(1, at: t)
                    if explain {
                        emit(
                            .candidate(
                                CandidateReport(
                                    onset: c.onset, duration: t - c.onset,
                                    peakMg: c.peakVector.squareRoot() * 1000,
                                    snr: max(c.peakRatio, c.peakUpperRatio).squareRoot(),
                                    floorMg: c.floorEnergy.squareRoot() * 1000, tremorIndex: c.tremorIndex,
                                    verdict: .sustained)))
                    }
                    lastQuiet = t
                    lastQuietIndex = stepIndex
                } else {
                    candidate = c
                }
            }
        } else if atRest {
            let onset2 = Tuning.onsetRatio * Tuning.onsetRatio
            if ratio2 >= onset2 { wasQuiet = false }
            if ratio2 < onset2 {
                if !wasQuiet { quietSince = t }
                wasQuiet = true
                lastQuiet = t
                lastQuietIndex = stepIndex
                // Released only after a whole slow cycle of quiet, not in the dip between two
                // swings of the same oscillation.
                if t - quietSince >= Tuning.sustainedRelease { sustained = false }
            } else if !sustained, ratio2 >= triggerRatio * triggerRatio,
                t - tailStart >= Tuning.tailWindow || ratio2 >= tailLevel
            {
                candidate = openCandidate(
                    at: t, onset: lastQuiet, onsetIndex: lastQuietIndex, ratios: ratios, e: e)
            }
        } else {
            lastQuiet = t
            lastQuietIndex = stepIndex
        }
        previousBand = band
    }

    @inline(__always)
    private func peakRatio(_ c: Candidate) -> Double { max(c.peakRatio, c.peakUpperRatio) }

    /// A new candidate triggered at `t`, starting at `onset`.
    private func openCandidate(
        at t: Double, onset: Double, onsetIndex: Int, ratios: SIMD4<Double>, e: Double
    ) -> Candidate {
        let wideRatio = ratios[0]
        let upperRatio = max(ratios[1], ratios[2], ratios[3])
        let floor = max(floors[0], 1e-12)
        var c = Candidate(
            onset: onset, lastLoud: t, floorEnergy: floor, tremorIndex: floor / max(floors[1], 1e-12))
        c.onsetIndex = onsetIndex
        c.lastLoudIndex = stepIndex
        c.knockFloorEnergy = knockFloorEnergy
        c.recentMovement = recentMovement
        c.movementBaseline = movementBaseline
        c.gravityBefore = gravity
        c.elevation = floors[1] / max(quietUpperFloor, 1e-18)
        c.peakEnvelope = envEnergy
        c.peakRatio = wideRatio
        c.peakUpperRatio = upperRatio
        c.peakKnock = knockEnergy
        c.peakVector = e
        c.follower = ratios
        c.trough = ratios
        c.troughTime = SIMD4(repeating: t)
        c.troughIndex = SIMD4(repeating: stepIndex)
        return c
    }

    /// Measures of the high-passed magnitude over ring indices `first...last` (steps).
    struct ShapeStats {
        /// Largest squared magnitude: the twitch's peak without the band's low-pass, which
        /// rounds off the first, largest swing.
        var peak = 0.0
        /// Share of the energy in the two largest samples: near 1 for a spike (a knock seen by a
        /// slow sensor), well under for an oscillation.
        var concentration = 0.0
        /// Time, in s, spent above half the peak magnitude.
        var aboveHalf = 0.0
        /// `concentration` with the sensor's noise taken out of every sample (the mean over the
        /// quiet lead before the onset): near 1 when one or two samples carry all that stands
        /// out of the noise (a glitch, a tap seen by a slow sensor), however long the noise
        /// around them keeps the candidate open.
        var spikiness = 0.0
    }

    private func shapeStats(first: Int, last: Int) -> ShapeStats {
        let n = shape.count
        let oldest = stepIndex - n + 1
        let start = max(first, last - n + 1, oldest)
        guard last >= start else { return ShapeStats() }
        // The sensor's noise in the same signal: the mean over the quiet lead before the onset.
        let leadSteps = Int((Tuning.spikeNoiseLead * rate).rounded())
        let leadStart = max(start - leadSteps, oldest)
        return shape.withUnsafeBufferPointer { buf in
            var top = 0.0
            var second = 0.0
            var total = 0.0
            for k in start...last {
                let v = buf[k % n]
                total += v
                if v > top {
                    second = top
                    top = v
                } else if v > second {
                    second = v
                }
            }
            var above = 0
            for k in start...last where buf[k % n] >= top / 4 { above += 1 }
            var noise = 0.0
            if leadStart < start {
                for k in leadStart..<start { noise += buf[k % n] }
                noise /= Double(start - leadStart)
            }
            let count = Double(last - start + 1)
            let excess = total - count * noise
            return ShapeStats(
                peak: top, concentration: total > 0 ? (top + second) / total : 0,
                aboveHalf: Double(above) / rate,
                spikiness: excess > 0 ? min(max((top + second - 2 * noise) / excess, 0), 1) : 0)
        }
    }

    @inline(__always)
    private mutating func updateState(time t: Double, warming: Bool, _ emit: (DetectorOutput) -> Void) {
        let moving = t - lastMovement < Tuning.activeHold
        // Orientation drift for the not-worn timer: checked every 8 steps, plenty for minutes.
        if moving
            || (stepIndex & 7 == 0
                && norm2((gravity - stillReference) * 1000) > Tuning.stillMg * Tuning.stillMg)
        {
            stillReference = gravity
            stillSince = t
            microQuiet = 0
            microSum = 0
            microBlockEnd = stepIndex &+ microBlockSteps
            microBlockStart = t
        }
        if stepIndex >= microBlockEnd {
            // One block of stillness: did the limb move with breath and pulse beyond the noise?
            let mean = microSum / Double(microBlockSteps)
            let noise = microNoiseRatio * knockFloorEnergy * 1e6
            let gate = Tuning.microNoiseGateMg * Tuning.microNoiseGateMg
            microDecides = noise <= gate
            if !warming, microDecides, mean - noise < Tuning.wornMotionMg * Tuning.wornMotionMg {
                if microQuiet == 0 { microQuietStart = microBlockStart }
                microQuiet += 1
            } else {
                microQuiet = 0
            }
            microSum = 0
            microBlockEnd = stepIndex &+ microBlockSteps
            microBlockStart = t
        }
        let next: LimbState
        var since = t
        if moving {
            next = .active
        } else if microQuiet >= Tuning.microQuietBlocks {
            next = .notWorn
            // Not worn since the first motionless block, not since it was noticed.
            since = max(microQuietStart, lastChange)
        } else if !microDecides, t - stillSince >= Tuning.notWornAfter {
            next = .notWorn
        } else {
            next = .rest
        }
        if next != state {
            if next == .active {
                activeOnsets[activeOnsetHead] = since
                activeOnsetHead = activeOnsetHead + 1 == activeOnsets.scalarCount ? 0 : activeOnsetHead + 1
            } else if state == .active {
                restSince = since
            }
            state = next
            lastChange = since
            emit(.state(StateChange(time: since, state: next)))
        }
    }

    /// Counts `n` movement candidates at time `t` into the decaying movement count.
    private mutating func noteMovements(_ n: Int, at t: Double) {
        movementCount = movements(at: t) + Double(n)
        movementCountTime = max(t, movementCountTime)
    }

    /// The decaying count of movement candidates as of `t`.
    private func movements(at t: Double) -> Double {
        movementCount * exp(-max(t - movementCountTime, 0) / Tuning.restlessTau)
    }

    /// Whether a dominant frequency `frequency` (from `halfCycles` half-cycles over `span` s of
    /// a stream at `rate` Hz) is a twitch's. The crossing times are known only to a sample, so
    /// it is too fast only if it still is with the span one sample longer: at 100 Hz one
    /// half-cycle between neighbouring samples reads 50 Hz, but may be a 25-35 Hz twitch.
    static func frequencyInRange(
        _ frequency: Double, halfCycles: Double, span: Double, rate: Double
    ) -> Bool {
        let slowest = halfCycles >= 1 ? halfCycles / (2 * (span + 1 / rate)) : frequency
        return frequency >= Tuning.minFrequency && slowest <= Tuning.maxFrequency
    }

    /// Decides whether a closed candidate is a twitch (to be confirmed once the limb has stayed
    /// still and in place for `confirmDelay` after it).
    private mutating func close(_ c: Candidate, now t: Double, _ emit: (DetectorOutput) -> Void) {
        let end = c.lastLoud
        let duration = end - c.onset
        lastQuiet = t
        lastQuietIndex = stepIndex
        tailStart = t
        tailLevel = Tuning.releaseOfPeak2 * peakRatio(c)
        let stats = shapeStats(first: c.onsetIndex, last: c.lastLoudIndex)
        let snr = max(c.peakRatio, c.peakUpperRatio).squareRoot()
        var report = CandidateReport(
            onset: c.onset, duration: duration, peakMg: stats.peak.squareRoot() * 1000, snr: snr,
            floorMg: c.floorEnergy.squareRoot() * 1000, concentration: stats.concentration,
            spikiness: stats.spikiness,
            tremorIndex: c.tremorIndex, floorElevation: c.elevation, recentMovementMg: c.recentMovement,
            movementBaselineMg: c.movementBaseline, verdict: .twitch)
        func reject(_ verdict: CandidateVerdict) {
            switch verdict {
            case .duration, .frequency, .tremor, .twitch, .restless, .busy: break
            // A small knock may be a twitch that a slow sensor saw in two samples; one larger
            // than a motor unit makes is the hand hitting something.
            case .knock: if report.peakMg > TwitchDetector.motorUnitCeilingMg { noteMovements(1, at: t) }
            default: noteMovements(1, at: t)
            }
            if explain {
                report.verdict = verdict
                emit(.candidate(report))
            }
        }
        guard duration >= Tuning.minDuration, duration <= Tuning.maxDuration else {
            reject(.duration)
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
        report.frequency = frequency
        report.halfCycles = n
        let eigen = symmetricEigenvalues(c.loudAxisEnergy, c.loudCrossEnergy)
        let trace = eigen.0 + eigen.1 + eigen.2
        report.polarization = trace > 0 ? eigen.0 / trace : 1
        report.secondAxisOverNoise = eigen.1 / max(c.loudSteps * c.floorEnergy / 3, 1e-18)
        // Knock: broadband, so the high band carries far more than an oscillation at the
        // candidate's own frequency would put there.
        let expected =
            knockHP.magnitude(at: frequency, rate: rate)
            / max(
                bandHP.magnitude(at: frequency, rate: rate) * bandLP.magnitude(at: frequency, rate: rate),
                1e-9)
        // Both peaks above their own noise floors, so noise in the knock band does not make a
        // small twitch look like a knock.
        let knockRatio =
            (max(c.peakKnock - c.knockFloorEnergy, 0) / max(c.peakEnvelope - c.floorEnergy, 1e-12))
            .squareRoot()
        report.knockExcess = knockRatio / max(expected, 1e-9)
        report.knockRatio = knockRatio
        // A clearly ringing candidate (several half-cycles) is allowed what its own frequency
        // leaks into the knock band; that matters at low rates, where the bands are close.
        let allowance = n >= Tuning.ringingHalfCycles ? expected : 0
        // A knock seen by a slow sensor is one or two samples: nearly all the energy in them.
        // The knock band must itself stand out of its own noise: a broadband burst does; a small
        // twitch near the floor, whose ratio is mostly noise over noise, does not.
        let knockVisible = c.peakKnock > Tuning.knockVisible * Tuning.knockVisible * c.knockFloorEnergy
        // A slow candidate leaks almost nothing into the knock band: less broadband energy
        // already makes it a jolt.
        let slow = frequency < Tuning.slowKnockFrequency
        if knockVisible && knockRatio > Tuning.knockRatio + allowance
            || stats.concentration > Tuning.spikeConcentration
        {
            lastMovement = t
            reject(.knock)
            return
        }
        // A slow jolt is not itself a movement of the limb (it may be a twitch a noisy slow
        // sensor blurred): rejected, but the limb stays at rest.
        if slow && knockRatio > Tuning.slowKnockRatio + allowance
            && c.peakKnock > Tuning.slowKnockVisible * Tuning.slowKnockVisible * c.knockFloorEnergy
        {
            reject(.knock)
            return
        }
        // Larger than one motor unit can make: many units at once, a movement.
        if report.peakMg > TwitchDetector.motorUnitCeilingMg {
            lastMovement = t
            reject(.tooLarge)
            return
        }
        guard
            Self.frequencyInRange(
                frequency, halfCycles: n,
                span: max(c.lastCrossing[axisIndex] - c.firstCrossing[axisIndex], 0), rate: rate)
        else {
            reject(.frequency)
            return
        }
        // Under tremor (the whole-band floor well above the upper band's), a slow candidate that
        // stands out only in the whole band is most likely a tremor burst: ask for more.
        if c.tremorIndex > Tuning.tremorIndex, frequency < Tuning.tremorMaxFrequency,
            c.peakUpperRatio < triggerRatio * triggerRatio,
            c.peakRatio < Tuning.tremorTriggerFactor * Tuning.tremorTriggerFactor * triggerRatio
                * triggerRatio
        {
            reject(.tremor)
            return
        }
        // Unsettled: the limb moved in the last seconds clearly more than it does when quiet,
        // without reaching the movement threshold (small adjustments of a hand or foot). Those
        // make twitch-band energy of their own, so ask for more.
        let unsettled =
            c.recentMovement > max(Tuning.unsettledMg, Tuning.unsettledOverBaseline * c.movementBaseline)
        if unsettled, snr < Tuning.unsettledTriggerFactor * triggerRatio {
            reject(.unsettled)
            return
        }
        if c.onset - restSince < Tuning.settlingTime, snr < Tuning.settlingTriggerFactor * triggerRatio {
            reject(.unsettled)
            return
        }
        // A single motor unit pulls along its fibres: its vibration at the skin has one main
        // direction. Energy well beyond the noise along a second one is the limb itself moving.
        if report.secondAxisOverNoise > Tuning.secondAxisNoise, report.polarization < Tuning.minPolarization {
            reject(.multiaxial)
            return
        }
        // Tremor raises the upper band too (its harmonics); that is the tremor rule's business.
        if c.elevation > Tuning.busyElevation, c.tremorIndex <= Tuning.tremorIndex,
            snr < Tuning.busyTriggerFactor * triggerRatio
        {
            reject(.busy)
            return
        }
        // Fidgeting: the limb started moving four times in the last 50 s.
        if c.onset - activeOnsets[activeOnsetHead] < Tuning.fidgetWindow,
            snr < Tuning.fidgetTriggerFactor * triggerRatio
        {
            reject(.restless)
            return
        }
        // Between the movements of a hand at work (two onsets in the last 50 s), only a
        // clean single-direction vibration is a twitch.
        let secondNewest = activeOnsets[
            (activeOnsetHead + activeOnsets.scalarCount - 2) % activeOnsets.scalarCount]
        if c.onset - secondNewest < Tuning.fidgetWindow, report.polarization < Tuning.fidgetPolarization {
            reject(.restless)
            return
        }
        // Restless: several movements in the last minute and the upper band still raised.
        if c.elevation > Tuning.restlessElevation, c.tremorIndex <= Tuning.tremorIndex,
            movements(at: t) >= Tuning.restlessMovements
        {
            reject(.restless)
            return
        }
        // Confidence: how far above threshold, on a log scale, saturating at 4x the threshold.
        let margin = log(snr / triggerRatio) / log(4.0)
        let confidence = min(max(0.5 + 0.5 * margin, 0), 1)
        let axis: Axis = axisIndex == 0 ? .x : (axisIndex == 1 ? .y : .z)
        let event = TwitchEvent(
            onset: c.onset, durationMs: duration * 1000, peakMg: report.peakMg,
            axis: axis, frequencyHz: frequency, snr: snr, confidence: confidence, location: location)
        if state == .notWorn {
            // A twitch means the sensor is on a limb after all.
            stillSince = t
            microQuiet = 0
        }
        if pendingCount == Tuning.pendingCapacity { confirmOldestPending(emit) }
        let slot = (pendingHead + pendingCount) % Tuning.pendingCapacity
        pendingEvents[slot] = event
        pendingEnds[slot] = end
        pendingBefore[slot] = c.gravityBefore
        pendingFloors[slot] = c.floorEnergy
        pendingAfter[slot] = 0
        pendingReports[slot] = report
        pendingCount += 1
    }

    /// Judges the oldest held twitch now that `confirmDelay` has passed after it (or the ring is
    /// full): reported unless the limb is somewhere else than before it.
    private mutating func confirmOldestPending(_ emit: (DetectorOutput) -> Void) {
        let slot = pendingHead
        pendingHead += 1
        if pendingHead == Tuning.pendingCapacity { pendingHead = 0 }
        pendingCount -= 1
        // Orientation after (gravity over the last `settleTau`) against before (gravity at the
        // onset): the noise allowance is what the sensor's own noise gives that comparison.
        let change = (norm2(settled - pendingBefore[slot])).squareRoot() * 1000
        let density = pendingFloors[slot] / (3 * Tuning.bandWidth)
        let noise = (density * orientationNoiseGain).squareRoot() * 1000
        let sway = Tuning.orientationOverSway * pendingReports[slot].movementBaselineMg
        let limit = max(Tuning.orientationMg, Tuning.orientationNoise * noise, sway)
        var report = pendingReports[slot]
        report.orientationChangeMg = change
        report.afterMovementMg = pendingAfter[slot]
        report.orientationLimitMg = limit
        if change > limit {
            report.verdict = .reoriented
            noteMovements(1, at: pendingEnds[slot] + Tuning.confirmDelay)
        }
        if explain { emit(.candidate(report)) }
        if report.verdict == .twitch { emit(.twitch(pendingEvents[slot])) }
    }

    mutating func finish(_ emit: (DetectorOutput) -> Void) {
        if let c = candidate {
            // Closed as if the input had gone quiet; one still loud at the end is judged on
            // what was seen, and cannot pass as a twitch if it already ran too long.
            candidate = nil
            close(c, now: c.lastLoud + Tuning.mergeGap, emit)
        }
        while pendingCount > 0 { confirmOldestPending(emit) }
    }
}
