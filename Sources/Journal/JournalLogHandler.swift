// swift-log handler that writes the daemon's own log messages to the journal.

public import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A swift-log `LogHandler` writing to the journal through a ``JournalWriter``.
///
/// Each message becomes one entry: `MESSAGE`, `PRIORITY` from the level (trace/debug 7, info 6,
/// notice 5, warning 4, error 3, critical 2), `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`,
/// `CODE_FUNC`, `LOGGER` (the logger's label), and each metadata item as a field named after its
/// key in capitals, other characters as `_` (`sensor` -> `SENSOR`, `i2c.bus` -> `I2C_BUS`; a key
/// that would clash with the fields above or start with a digit or `_` gets `META_` in front).
///
/// Without a writer, or when an entry is dropped, the line goes to stderr instead (with a `<N>`
/// priority prefix when stderr is a journal stream, so systemd still files it at the right level).
///
/// ```swift
/// let journal = try JournalWriter(.init(spoolDirectory: stateDir))
/// LoggingSystem.bootstrap(JournalLogHandler.factory(writer: journal))
/// ```
public struct JournalLogHandler: LogHandler {
    /// Messages below this level are not logged.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every message of this handler (as journal fields).
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata (e.g. task-local), merged into every message.
    public var metadataProvider: Logger.MetadataProvider?

    /// The logger's label (`LOGGER=` field).
    public let label: String
    private let writer: JournalWriter?
    private let identifier: String
    private let stderrIsJournal: Bool

    /// - Parameters:
    ///   - writer: where entries go; nil writes to stderr only.
    ///   - identifier: `SYSLOG_IDENTIFIER`.
    public init(
        label: String, writer: JournalWriter?, identifier: String = "twitchd", level: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.writer = writer
        self.identifier = identifier
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.stderrIsJournal = getenv("JOURNAL_STREAM") != nil
    }

    /// A factory for `LoggingSystem.bootstrap`.
    public static func factory(
        writer: JournalWriter?, identifier: String = "twitchd", level: Logger.Level = .info
    ) -> @Sendable (String) -> any LogHandler {
        { label in JournalLogHandler(label: label, writer: writer, identifier: identifier, level: level) }
    }

    /// One metadata item of this handler.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The journal priority for a log level.
    public static func priority(for level: Logger.Level) -> JournalPriority {
        switch level {
        case .trace, .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        case .critical: return .critical
        }
    }

    /// The journal field name for a metadata key (see the type's documentation).
    public static func fieldName(forMetadataKey key: String) -> String {
        var bytes: [UInt8] = key.utf8.map { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): return b - 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return b
            default: return UInt8(ascii: "_")
            }
        }
        var name = String(decoding: bytes, as: UTF8.self)
        let reserved: Set<String> = [
            "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "LOGGER",
            "MESSAGE_ID",
        ]
        if bytes.isEmpty || reserved.contains(name) || !JournalEntry.isValidFieldName(name) {
            name = "META_" + name
            bytes = Array(name.utf8)
        }
        if bytes.count > JournalEntry.maximumFieldNameLength {
            name = String(decoding: bytes.prefix(JournalEntry.maximumFieldNameLength), as: UTF8.self)
        }
        return name
    }

    /// Writes one message: to the journal, or to stderr without a writer or if it was dropped.
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let priority = Self.priority(for: event.level)
        let message = event.message.description

        if let writer {
            var entry = JournalEntry(message: message, priority: priority, identifier: identifier)
            entry.addUnchecked("CODE_FILE", event.file)
            entry.addUnchecked("CODE_LINE", String(event.line))
            entry.addUnchecked("CODE_FUNC", event.function)
            entry.addUnchecked("LOGGER", label)
            for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
                entry.addUnchecked(Self.fieldName(forMetadataKey: key), value.description)
            }
            if writer.send(entry) != .dropped { return }
        }
        var line = stderrIsJournal ? "<\(priority.rawValue)>" : "\(event.level) "
        line += "\(label): \(message)"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        writeStderr(line)
    }
}
