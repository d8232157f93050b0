public import TwitchCore

// API shell agreed between modules; the detector's owner replaces the body.

/// How eager the detector is. Higher finds smaller twitches and accepts more false alarms.
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
    /// Sample rate in Hz (measured from the data or the sensor), 100...3200.
    public var sampleRate: Double
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
public struct TwitchDetector: Sendable {
    public let configuration: DetectorConfiguration
    public private(set) var state: LimbState = .rest

    public init(configuration: DetectorConfiguration) throws(DetectorConfigurationError) {
        guard configuration.sampleRate.isFinite, (50...4000).contains(configuration.sampleRate) else {
            throw DetectorConfigurationError(
                "sample rate \(configuration.sampleRate) Hz is outside 50...4000 Hz")
        }
        self.configuration = configuration
    }

    /// Feeds one sample; calls `emit` for every twitch or state change it completes.
    public mutating func process(_ sample: Sample, _ emit: (DetectorOutput) -> Void) {}

    /// Flushes a twitch still in progress at the end of the input.
    public mutating func finish(_ emit: (DetectorOutput) -> Void) {}
}
