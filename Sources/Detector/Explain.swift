/// Why the detector kept or dropped a candidate: the first rule it failed, or `twitch`.
///
/// Every candidate (the envelope of a twitch band rising above the threshold at rest) gets
/// exactly one verdict. `twitchd replay --explain` prints them, so anyone can see why a count is
/// what it is.
public enum CandidateVerdict: String, Sendable, Equatable, CaseIterable {
    /// Reported as a twitch.
    case twitch
    /// Shorter than 25 ms or longer than 500 ms.
    case duration
    /// Still loud after 500 ms: sustained vibration or tremor.
    case sustained
    /// Broadband (high-band share of a knock) or one or two samples carrying nearly all of it.
    case knock
    /// Dominant frequency outside 4-45 Hz.
    case frequency
    /// A slow candidate under tremor that does not stand out of the tremor.
    case tremor
    /// The limb made small movements in the seconds before, or came to rest less than a second
    /// before, and the candidate is not loud enough.
    case unsettled
    /// The upper band's floor well above its quiet level (muscles working, the sensor shaking)
    /// and the candidate not loud enough to stand out of that.
    case busy
    /// A hand at work: the limb made several movements in the last minute (movement candidates,
    /// counted with a 60 s decay) and the upper band's floor is still raised. A twitch comes in a
    /// limb at rest; short still moments between the movements of a busy hand do not count as
    /// rest for it. Also: the limb started moving four times in the last 30 s (fidgeting) and
    /// the candidate is not 1.5 times as loud as the threshold asks.
    case restless
    /// Larger than any single motor unit makes at the skin (``TwitchDetector/motorUnitCeilingMg``).
    case tooLarge = "too-large"
    /// The limb's orientation was different after the candidate than before: a movement.
    case reoriented
    /// Energy along a second direction well beyond the noise: the limb swinging or turning, not
    /// one motor unit pulling along its fibres.
    case multiaxial
    /// The limb started moving within the confirmation delay after it.
    case moved
}

/// One candidate with its measurements and its verdict (``CandidateVerdict``).
///
/// Measurements that a rule never got to (a candidate rejected for its duration has no
/// orientation change) are NaN.
public struct CandidateReport: Sendable, Equatable {
    /// Onset, on the samples' time base, s.
    public var onset: Double
    /// How long it was loud, s.
    public var duration: Double
    /// Peak of the 9 Hz high-passed acceleration, mg.
    public var peakMg: Double
    /// Peak envelope over the noise floor (amplitude ratio).
    public var snr: Double
    /// The noise floor when it opened: RMS of the 9-40 Hz band over three axes, mg.
    public var floorMg: Double
    /// Dominant frequency, Hz, and the half-cycles it was counted from.
    public var frequency: Double
    public var halfCycles: Double
    /// Knock-band peak over twitch-band peak (amplitude, each above its floor), and that over
    /// what the candidate's own frequency leaks into the knock band.
    public var knockRatio: Double
    public var knockExcess: Double
    /// Share of the energy in the two largest samples (near 1 for a spike).
    public var concentration: Double
    /// Share of what stands out of the noise (the energy above the sensor's noise level before
    /// the onset) in the two largest samples: near 1 for a glitch or a tap a slow sensor saw in
    /// one or two samples, well under for an oscillation.
    public var spikiness: Double
    /// Share of the 9-40 Hz energy along its main direction (the largest eigenvalue of the
    /// three axes' covariance over their sum): near 1 for a twitch, which vibrates along one
    /// line; 1/3 for energy spread evenly over all directions.
    public var polarization: Double
    /// Energy along the second direction over what the sensor's noise alone puts there.
    public var secondAxisOverNoise: Double
    /// Whole-band floor over upper-band floor (energies): high under tremor.
    public var tremorIndex: Double
    /// Upper-band (15-40 Hz) floor over its quietest level in the last minutes (energies): above
    /// 1 when muscles are working (the broadband sound of a contraction) or the sensor shakes.
    public var floorElevation: Double
    /// Peak slow movement in the seconds before, and the limb's quiet level, mg.
    public var recentMovementMg: Double
    public var movementBaselineMg: Double
    /// Peak slow movement between the end and the confirmation, mg.
    public var afterMovementMg: Double
    /// Change of the gravity vector from before the onset to `confirmDelay` after the end, mg.
    public var orientationChangeMg: Double
    /// What the orientation change was allowed to be (noise allowance included), mg.
    public var orientationLimitMg: Double
    public var verdict: CandidateVerdict

    public init(
        onset: Double, duration: Double = .nan, peakMg: Double = .nan, snr: Double = .nan,
        floorMg: Double = .nan, frequency: Double = .nan, halfCycles: Double = .nan,
        knockRatio: Double = .nan, knockExcess: Double = .nan, concentration: Double = .nan,
        spikiness: Double = .nan, polarization: Double = .nan, secondAxisOverNoise: Double = .nan,
        tremorIndex: Double = .nan, floorElevation: Double = .nan, recentMovementMg: Double = .nan,
        movementBaselineMg: Double = .nan,
        afterMovementMg: Double = .nan, orientationChangeMg: Double = .nan, orientationLimitMg: Double = .nan,
        verdict: CandidateVerdict
    ) {
        self.onset = onset
        self.duration = duration
        self.peakMg = peakMg
        self.snr = snr
        self.floorMg = floorMg
        self.frequency = frequency
        self.halfCycles = halfCycles
        self.knockRatio = knockRatio
        self.knockExcess = knockExcess
        self.concentration = concentration
        self.spikiness = spikiness
        self.polarization = polarization
        self.secondAxisOverNoise = secondAxisOverNoise
        self.tremorIndex = tremorIndex
        self.floorElevation = floorElevation
        self.recentMovementMg = recentMovementMg
        self.movementBaselineMg = movementBaselineMg
        self.afterMovementMg = afterMovementMg
        self.orientationChangeMg = orientationChangeMg
        self.orientationLimitMg = orientationLimitMg
        self.verdict = verdict
    }

    /// Equal when every field is, NaN included (an unmeasured field equals an unmeasured one).
    public static func == (a: CandidateReport, b: CandidateReport) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        return same(a.onset, b.onset) && same(a.duration, b.duration) && same(a.peakMg, b.peakMg)
            && same(a.snr, b.snr) && same(a.floorMg, b.floorMg) && same(a.frequency, b.frequency)
            && same(a.halfCycles, b.halfCycles) && same(a.knockRatio, b.knockRatio)
            && same(a.knockExcess, b.knockExcess) && same(a.concentration, b.concentration)
            && same(a.spikiness, b.spikiness) && same(a.polarization, b.polarization)
            && same(a.secondAxisOverNoise, b.secondAxisOverNoise)
            && same(a.tremorIndex, b.tremorIndex) && same(a.floorElevation, b.floorElevation)
            && same(a.recentMovementMg, b.recentMovementMg)
            && same(a.movementBaselineMg, b.movementBaselineMg)
            && same(a.afterMovementMg, b.afterMovementMg)
            && same(a.orientationChangeMg, b.orientationChangeMg)
            && same(a.orientationLimitMg, b.orientationLimitMg) && a.verdict == b.verdict
    }
}

/// A stretch of time without samples (a hole in a file, a sensor that stopped answering): not
/// rest, not anything; exposure accounting charges it as a gap.
public struct SampleGap: Sendable, Equatable {
    /// Time of the last sample before the hole and of the first after it.
    public var from: Double
    public var to: Double

    public init(from: Double, to: Double) {
        self.from = from
        self.to = to
    }
}
