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
