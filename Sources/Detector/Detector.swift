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
///    minutes (working muscles, a busy hand) and no tremor explains it, unless it stands 1.4
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
