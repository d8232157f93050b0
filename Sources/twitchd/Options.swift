import TwitchCore

/// Option values shared by the commands, parsed once and checked: a value from the command line
/// never reaches an integer conversion that could trap.
enum OptionValues {
    /// The longest `--duration` any command takes: a year. Longer is a typo (and would overflow
    /// sample counts and nanosecond clocks).
    static let maxDurationSeconds = 366.0 * 86_400

    /// Seconds in `600`, `90s`, `500ms`, `10m`, `10min`, `1h` (case-insensitive); nil when not a
    /// positive, finite length of at most ``maxDurationSeconds``.
    static func durationSeconds(_ text: String) -> Double? {
        var t = Substring(text.trimmed.lowercased())
        var scale = 1.0
        if t.hasSuffix("ms") {
            scale = 0.001
            t = t.dropLast(2)
        } else if t.hasSuffix("min") {
            scale = 60
            t = t.dropLast(3)
        } else if t.hasSuffix("s") {
            t = t.dropLast()
        } else if t.hasSuffix("m") {
            scale = 60
            t = t.dropLast()
        } else if t.hasSuffix("h") {
            scale = 3600
            t = t.dropLast()
        }
        guard let v = Double(t), v.isFinite, v > 0 else { return nil }
        let seconds = v * scale
        guard seconds <= maxDurationSeconds else { return nil }
        return seconds
    }

    /// A sample rate option: finite and within `range`.
    static func rate(_ value: Double, in range: ClosedRange<Double>) -> Bool {
        value.isFinite && range.contains(value)
    }
}
