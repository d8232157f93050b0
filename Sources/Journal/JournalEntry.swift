// One journal entry and its encoding in journald's native protocol.
//
// Wire format (systemd.journal-fields(7), "Native Journal Protocol"): one entry per datagram, each
// field either `NAME=VALUE\n` or, when the value holds a newline or a NUL byte,
// `NAME\n` + the value's length as a 64-bit little-endian integer + the value bytes + `\n`.

/// Syslog priorities, as journald stores them in `PRIORITY=`.
public enum JournalPriority: Int, Sendable, Comparable, CaseIterable {
    case emergency = 0
    case alert = 1
    case critical = 2
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    /// More severe priorities are smaller, as in syslog.
    public static func < (a: JournalPriority, b: JournalPriority) -> Bool { a.rawValue < b.rawValue }
}

/// Errors in building or decoding a journal entry.
public enum JournalEntryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A field name outside the journal's rules (A-Z, 0-9, `_`; not starting with a digit or `_`;
    /// 1 to 64 characters).
    case invalidFieldName(String)
    /// Bytes that are not a native-protocol entry; the string says where and why.
    case malformed(String)

    /// The error as one line for logs and the terminal.
    public var description: String {
        switch self {
        case .invalidFieldName(let name):
            return "invalid journal field name '\(name)' (allowed: A-Z, 0-9, _; not starting with a digit "
                + "or _; at most 64 characters)"
        case .malformed(let why):
            return "malformed journal entry: \(why)"
        }
    }
}

/// One field of a journal entry: a validated name and a value of arbitrary bytes.
public struct JournalField: Sendable, Equatable {
    /// The field name, e.g. `MESSAGE` or `TWITCH_PEAK_MG`.
    public let name: String
    /// The value's bytes (usually UTF-8 text, but any bytes are allowed, including newlines).
    public let value: [UInt8]

    /// The value decoded as UTF-8 (invalid sequences replaced).
    public var stringValue: String { String(decoding: value, as: UTF8.self) }

    init(uncheckedName name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// One journal entry: an ordered list of fields, as sent to journald in one datagram.
///
/// ```swift
/// var entry = JournalEntry(message: "sensor re-initialised", priority: .notice)
/// try entry.add("TWITCH_SENSOR", "i2c-1/0x53")
/// writer.send(entry)
/// ```
/// Twitch events and state changes have ready-made builders: ``twitch(_:at:sensor:sequence:identifier:)``
/// and friends (see `TwitchEntries.swift`).
public struct JournalEntry: Sendable, Equatable {
    /// The fields, in the order they were added. A name may occur more than once.
    public private(set) var fields: [JournalField] = []

    /// The longest field name journald accepts.
    public static let maximumFieldNameLength = 64

    /// An empty entry.
    public init() {}

    /// An entry with `MESSAGE`, `PRIORITY` and `SYSLOG_IDENTIFIER` set.
    public init(message: String, priority: JournalPriority = .info, identifier: String = "twitchd") {
        addUnchecked("MESSAGE", message)
        addUnchecked("PRIORITY", String(priority.rawValue))
        addUnchecked("SYSLOG_IDENTIFIER", identifier)
    }

    /// Whether `name` is a field name a client may send: 1-64 characters of `A-Z`, `0-9`, `_`,
    /// not starting with a digit or `_` (names starting with `_` are journald's trusted fields).
    public static func isValidFieldName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= maximumFieldNameLength else { return false }
        if first == UInt8(ascii: "_") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) {
            return false
        }
        for b in bytes {
            let ok =
                (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
            if !ok { return false }
        }
        return true
    }

    /// Appends a text field. Throws ``JournalEntryError/invalidFieldName(_:)`` for a bad name.
    public mutating func add(_ name: String, _ value: String) throws(JournalEntryError) {
        try add(name, bytes: Array(value.utf8))
    }

    /// Appends a field with arbitrary bytes (newlines and NULs are fine).
    public mutating func add(_ name: String, bytes: [UInt8]) throws(JournalEntryError) {
        guard Self.isValidFieldName(name) else { throw .invalidFieldName(name) }
        fields.append(JournalField(uncheckedName: name, value: bytes))
    }

    /// Appends a field whose name the caller knows is valid (compile-time constants in this module).
    mutating func addUnchecked(_ name: String, _ value: String) {
        fields.append(JournalField(uncheckedName: name, value: Array(value.utf8)))
    }

    /// Replaces every field called `name` by one with `value` (appends it if absent).
    public mutating func set(_ name: String, _ value: String) throws(JournalEntryError) {
        guard Self.isValidFieldName(name) else { throw .invalidFieldName(name) }
        fields.removeAll { $0.name == name }
        fields.append(JournalField(uncheckedName: name, value: Array(value.utf8)))
    }

    /// The first value of field `name` as text, or nil.
    public subscript(_ name: String) -> String? {
        fields.first { $0.name == name }?.stringValue
    }

    /// Every value of field `name`, in order.
    public func values(of name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.stringValue)
    }

    /// The entry in journald's native protocol, ready to be sent as one datagram.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.count + 10 })
        for field in fields {
            out.append(contentsOf: field.name.utf8)
            if field.value.contains(0x0A) || field.value.contains(0x00) {
                out.append(0x0A)
                appendLittleEndian64(UInt64(field.value.count), to: &out)
                out.append(contentsOf: field.value)
            } else {
                out.append(UInt8(ascii: "="))
                out.append(contentsOf: field.value)
            }
            out.append(0x0A)
        }
        return out
    }

    /// Parses bytes in the native protocol (what ``encoded()`` produces), validating field names.
    public init(decoding bytes: [UInt8]) throws(JournalEntryError) {
        var i = 0
        let n = bytes.count
        while i < n {
            var j = i
            while j < n && bytes[j] != UInt8(ascii: "=") && bytes[j] != 0x0A { j += 1 }
            guard j < n else { throw .malformed("field at byte \(i) has no '=' or newline") }
            let name = String(decoding: bytes[i..<j], as: UTF8.self)
            guard Self.isValidFieldName(name) else { throw .invalidFieldName(name) }
            if bytes[j] == UInt8(ascii: "=") {
                var k = j + 1
                while k < n && bytes[k] != 0x0A { k += 1 }
                guard k < n else { throw .malformed("field \(name) at byte \(i) is not terminated") }
                fields.append(JournalField(uncheckedName: name, value: Array(bytes[(j + 1)..<k])))
                i = k + 1
            } else {
                let start = j + 1
                guard n - start >= 8 else { throw .malformed("field \(name) at byte \(i): truncated length") }
                var length: UInt64 = 0
                for b in 0..<8 { length |= UInt64(bytes[start + b]) << (8 * UInt64(b)) }
                let valueStart = start + 8
                guard n - valueStart >= 1, length <= UInt64(n - valueStart - 1) else {
                    throw .malformed("field \(name) at byte \(i): length \(length) runs past the end")
                }
                let valueEnd = valueStart + Int(length)
                guard bytes[valueEnd] == 0x0A else {
                    throw .malformed("field \(name) at byte \(i): binary value not followed by a newline")
                }
                fields.append(JournalField(uncheckedName: name, value: Array(bytes[valueStart..<valueEnd])))
                i = valueEnd + 1
            }
        }
    }
}

/// Appends `value` as 8 bytes, least significant first, whatever the host's byte order.
func appendLittleEndian64(_ value: UInt64, to out: inout [UInt8]) {
    for shift in stride(from: 0, to: 64, by: 8) {
        out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
    }
}

/// Appends `value` as 4 bytes, least significant first.
func appendLittleEndian32(_ value: UInt32, to out: inout [UInt8]) {
    for shift in stride(from: 0, to: 32, by: 8) {
        out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
    }
}

/// Reads 4 little-endian bytes at `offset`.
func readLittleEndian32(_ bytes: some RandomAccessCollection<UInt8>, at offset: Int) -> UInt32 {
    var v: UInt32 = 0
    var index = bytes.index(bytes.startIndex, offsetBy: offset)
    for shift in stride(from: 0, to: 32, by: 8) {
        v |= UInt32(bytes[index]) << UInt32(shift)
        index = bytes.index(after: index)
    }
    return v
}
