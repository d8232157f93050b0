/// The `# key=value` lines at the top of a generic CSV trace, in file order.
///
/// Well-known keys: `sensor` (chip name), `rate_hz` (nominal output data rate; informative only,
/// the reader measures the real rate from the timestamps), `location` (where the sensor sits,
/// e.g. `left-calf`), `start_time` (RFC 3339 time of the first sample, e.g.
/// `2026-11-26T23:00:00.250Z`) and `start_unix` (the same as Unix seconds). Other keys are kept
/// and written back unchanged.
public struct TraceMetadata: Sendable, Equatable {
    /// One `key=value` pair.
    public struct Entry: Sendable, Equatable {
        /// The text before `=`, trimmed.
        public var key: String
        /// The text after `=`, trimmed.
        public var value: String
        /// A pair.
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// All pairs in file order. A key may appear more than once; lookups take the last.
    public var entries: [Entry]

    /// Metadata with `entries` in order.
    public init(_ entries: [Entry] = []) { self.entries = entries }

    /// Builds metadata from pairs, keeping their order.
    public init(_ pairs: KeyValuePairs<String, String>) {
        entries = pairs.map { Entry(key: $0.key, value: $0.value) }
    }

    /// The last value for `key`, or nil. Setting replaces every existing value or appends.
    public subscript(key: String) -> String? {
        get { entries.last(where: { $0.key == key })?.value }
        set {
            entries.removeAll { $0.key == key }
            if let newValue { entries.append(Entry(key: key, value: newValue)) }
        }
    }

    /// `sensor`, e.g. `lis3dh`.
    public var sensor: String? { self["sensor"] }
    /// `location`, e.g. `left-calf`.
    public var location: String? { self["location"] }
    /// `rate_hz` as a number (nominal; see ``TraceReader/sampleRate`` for the measured rate).
    public var nominalRate: Double? { self["rate_hz"].flatMap { Double($0) } }
}
