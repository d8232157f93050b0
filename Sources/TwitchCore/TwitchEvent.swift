/// One detected twitch (a fasciculation seen at the skin as a short damped oscillation).
///
/// A doublet (two discharges 30-40 ms apart) is one event. All times are on the time base of the
/// samples that produced the event (see ``Sample/time``).
public struct TwitchEvent: Sendable, Equatable, Codable {
    /// Onset, in seconds on the samples' time base.
    public var onset: Double
    /// Duration of the oscillation, in milliseconds.
    public var durationMs: Double
    /// Peak acceleration of the twitch above the background, in mg (1 mg = 0.001 g).
    public var peakMg: Double
    /// The axis that carried most of the twitch's energy.
    public var axis: Axis
    /// Dominant frequency of the oscillation, in Hz.
    public var frequencyHz: Double
    /// Peak amplitude over the local noise floor (a ratio, not dB).
    public var snr: Double
    /// How sure the detector is that this is a twitch, in 0...1.
    public var confidence: Double
    /// Where the sensor sits, e.g. `left-calf`.
    public var location: String

    public init(
        onset: Double, durationMs: Double, peakMg: Double, axis: Axis, frequencyHz: Double,
        snr: Double, confidence: Double, location: String
    ) {
        self.onset = onset
        self.durationMs = durationMs
        self.peakMg = peakMg
        self.axis = axis
        self.frequencyHz = frequencyHz
        self.snr = snr
        self.confidence = confidence
        self.location = location
    }
}

/// What the limb is doing, as far as the accelerometer can tell.
public enum LimbState: String, Sendable, Equatable, Codable, CaseIterable {
    /// Still: twitches are counted.
    case rest
    /// Moving (voluntary movement, walking, posture shift, knocks, vibration): twitches are not
    /// counted, because they cannot be told apart from the movement.
    case active
    /// So still, for so long, that the sensor is probably lying on a table rather than strapped on.
    case notWorn = "not-worn"
}

/// A change of limb state, at a time on the samples' time base.
public struct StateChange: Sendable, Equatable {
    public var time: Double
    public var state: LimbState

    public init(time: Double, state: LimbState) {
        self.time = time
        self.state = state
    }
}
