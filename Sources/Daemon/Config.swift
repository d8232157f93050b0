public import Detector
import TOMLKit
import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A chip by its name in the chip registry (`adxl355`), or `auto` to identify the chip by its ID
/// registers. The Daemon does not know the names: the `Sensors` module's ``SensorRules`` check
/// them (and everything else chip-specific) when the configuration is loaded.
public struct ChipName: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { self.rawValue = name }
    /// Identify the chip by its ID registers.
    public static let auto = ChipName("auto")
    public var description: String { rawValue }
}

/// Where one sensor's I2C address comes from.
public enum AddressChoice: Sendable, Equatable, CustomStringConvertible {
    /// Probe the chip's usual addresses.
    case auto
    /// A fixed 7-bit address.
    case fixed(UInt8)

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .fixed(let a): return "0x" + String(a, radix: 16, uppercase: true)
        }
    }
}

/// One `[[sensor]]` table.
public struct SensorConfiguration: Sendable, Equatable {
    /// `/dev/i2c-1`, or `sim:CHIP` for a simulated chip.
    public var bus: String
    public var address: AddressChoice = .auto
    public var chip: ChipName = .auto
    /// Output data rate in Hz. When the file gives none, the chip's default once the rules know
    /// the chip (800 Hz, the nearest the chip can do, for `auto`).
    public var rate: Double = 800
    /// Full-scale range in g.
    public var rangeG: Int = 2
    /// GPIO line name of the data-ready interrupt (e.g. `GPIO17`), or nil to poll the chip.
    public var interrupt: String?
    /// Where the sensor is strapped, e.g. `left-calf`. Copied into every event.
    public var location: String
    /// Simulated buses only: a trace file played through the simulated chip.
    public var trace: String?
    /// Simulated buses only: the simulator's seed when no trace is given.
    public var seed: UInt64?
    /// Simulated buses only: play faster than real time (1 = real time). For tests.
    public var speed: Double = 1
    /// Simulated buses only: the simulator's mean twitch rate at rest, per minute.
    public var twitchesPerMinute: Double?
    /// Simulated buses only: the simulator's activity episodes (movement, walking...) per hour.
    public var episodesPerHour: Double?
    /// The line of the `[[sensor]]` header, for messages.
    public var line: Int = 0
    /// The name the sensor's source gave itself once opened (address and chip found:
    /// `i2c-1/0x53 adxl345`); set by the daemon, never read from the file.
    public var sourceName: String?

    public init(bus: String, location: String) {
        self.bus = bus
        self.location = location
    }

    /// Whether this sensor sits on a simulated bus (`sim:CHIP`).
    public var isSimulated: Bool { bus.hasPrefix("sim:") }

    /// A short stable name for messages and the `TWITCH_SENSOR` field: `i2c-1/0x53 adxl345`,
    /// `sim/adxl355` (a simulated bus holds one chip); `auto` where the file leaves the address or
    /// chip to be found.
    public var name: String {
        if let sourceName { return sourceName }
        if isSimulated { return "sim/" + bus.dropFirst(4) }
        let short = bus.hasPrefix("/dev/") ? String(bus.dropFirst(5)) : bus
        let slot: String
        switch address {
        case .auto: slot = "auto"
        case .fixed(let a): slot = "0x" + (a < 0x10 ? "0" : "") + String(a, radix: 16)
        }
        return "\(short)/\(slot) \(chip.rawValue)"
    }

    /// The device for duplicate checks: the bus and the fixed address.
    var device: String { "\(bus)@\(address)" }

    /// Whether two configurations drive the hardware the same way (the header line is ignored).
    public func sameSettings(as other: SensorConfiguration) -> Bool {
        var a = self
        var b = other
        a.line = 0
        b.line = 0
        a.sourceName = nil
        b.sourceName = nil
        return a == b
    }
}

/// The whole daemon configuration (`/etc/twitchd/twitchd.toml`).
public struct DaemonConfiguration: Sendable, Equatable {
    public var sensors: [SensorConfiguration] = []
    public var sensitivity: Sensitivity = .normal
    /// Write events to the journal.
    public var journal: Bool = true
    /// The journald native socket.
    public var journalSocket: String = "/run/systemd/journal/socket"
    /// The live event socket (JSON lines), or nil when disabled.
    public var eventSocket: String? = DaemonConfiguration.defaultEventSocket
    /// State directory: the journal spool and the event sequence number live here.
    public var stateDirectory: String = "/var/lib/twitchd"
    /// SCHED_FIFO priority for acquisition threads (1...99), or nil for the normal scheduler.
    public var realtimePriority: Int32?
    /// `mlockall` so acquisition never waits on a page fault.
    public var lockMemory: Bool = false
    /// Who wears the sensors (`[daemon] wearer`), written as `TWITCH_WEARER` on every entry so
    /// that reports over many machines name wearers, not host names; nil when unset.
    public var wearer: String?
    /// The file this came from, for messages.
    public var file: String = "<built-in>"

    public static let defaultPath = "/etc/twitchd/twitchd.toml"
    public static let defaultEventSocket = "/run/twitchd/events.sock"

    public init() {}

    /// Whether two configurations produce the same outputs (sinks), ignoring sensors and detector.
    func sameOutputs(as other: DaemonConfiguration) -> Bool {
        journal == other.journal && journalSocket == other.journalSocket
            && eventSocket == other.eventSocket && stateDirectory == other.stateDirectory
            && wearer == other.wearer
    }
}

/// One problem found in a configuration file: file, line (and column for syntax errors), key.
public struct ConfigIssue: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line, or 0 when the problem concerns the whole file.
    public var line: Int
    /// 1-based column for TOML syntax errors, else nil.
    public var column: Int?
    /// The key in dotted form, e.g. `sensor[1].rate`, or nil for syntax errors.
    public var key: String?
    public var message: String

    public init(file: String, line: Int, column: Int? = nil, key: String?, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        var s = file
        if line > 0 { s += ":\(line)" }
        if let column { s += ":\(column)" }
        s += ": "
        if let key { s += "\(key): " }
        return s + message
    }
}

/// One `[[sensor]]` table as the ``SensorRules`` see it.
public struct SensorEntry: Sendable {
    /// `sensor[0]`: the key prefix for messages.
    public var path: String
    public var sensor: SensorConfiguration
    /// The keys the table sets (`rate`, `range`...), so that rules can tell a default from a choice.
    public var given: Set<String>

    public init(path: String, sensor: SensorConfiguration, given: Set<String>) {
        self.path = path
        self.sensor = sensor
        self.given = given
    }
}

/// A problem the ``SensorRules`` found: `key` is relative to the entry (`rate`), or nil for the table.
public struct SensorIssue: Sendable, Equatable {
    public var path: String
    public var key: String?
    public var message: String
    public init(path: String, key: String?, message: String) {
        self.path = path
        self.key = key
        self.message = message
    }
}

/// What only the sensor layer knows: which chips exist, the rates, ranges and addresses each can
/// do, which buses exist, how interrupt lines are named, what the simulator accepts. The `Sensors`
/// module implements it; `run`, reload and `config check` load with the same rules.
public protocol SensorRules: Sendable {
    /// Checks the sensors (each alone and against each other) and fills in what depends on the
    /// chip (a rate the file does not give becomes the chip's default).
    func apply(to entries: inout [SensorEntry]) -> [SensorIssue]
}

/// The configuration could not be used; every problem found is listed.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]
    public init(_ issues: [ConfigIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Reads and validates `twitchd.toml`.
public enum ConfigLoader {
    /// Reads `path`, parses and validates it.
    public static func load(path: String, rules: (any SensorRules)? = nil) throws(ConfigErrors)
        -> DaemonConfiguration
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ConfigErrors([ConfigIssue(file: path, line: 0, key: nil, message: "the file \(reason)")])
        }
        return try parse(bytes: Array(data), file: path, rules: rules)
    }

    /// The largest configuration file read (a real one is a few kilobytes).
    public static let maxFileBytes = 1 << 20

    /// Parses and validates a configuration file's bytes: text in UTF-8 without NUL bytes (TOML
    /// forbids both; a NUL would silently end the text for the parser), at most
    /// ``maxFileBytes``. Problems are reported with their line.
    public static func parse(
        bytes: [UInt8], file: String, checkFiles: Bool = true, rules: (any SensorRules)? = nil
    ) throws(ConfigErrors) -> DaemonConfiguration {
        guard bytes.count <= maxFileBytes else {
            throw ConfigErrors([
                ConfigIssue(
                    file: file, line: 0, key: nil,
                    message: "the file is \(bytes.count) bytes; a configuration is at most \(maxFileBytes)")
            ])
        }
        var line = 1
        var lineStart = 0
        for (i, b) in bytes.enumerated() {
            if b == 0 {
                throw ConfigErrors([
                    ConfigIssue(
                        file: file, line: line, column: i - lineStart + 1, key: nil,
                        message: "a NUL byte: the configuration must be text (is this a binary file?)")
                ])
            }
            if b == 10 {
                line += 1
                lineStart = i + 1
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            var number = 1
            for part in bytes.split(separator: 10, omittingEmptySubsequences: false) {
                if String(validating: part, as: UTF8.self) == nil {
                    throw ConfigErrors([
                        ConfigIssue(
                            file: file, line: number, key: nil,
                            message: "not valid UTF-8 text (save the file as UTF-8)")
                    ])
                }
                number += 1
            }
            throw ConfigErrors([ConfigIssue(file: file, line: 0, key: nil, message: "not valid UTF-8 text")])
        }
        return try parse(text, file: file, checkFiles: checkFiles, rules: rules)
    }

    /// Parses and validates a TOML document; collects every problem before throwing. Without
    /// `rules` only what the Daemon itself knows is checked (no chip names, rates or ranges).
    public static func parse(
        _ text: String, file: String, checkFiles: Bool = true, rules: (any SensorRules)? = nil
    ) throws(ConfigErrors) -> DaemonConfiguration {
        // A NUL would end the text for the TOML parser (C++): refused with its line instead.
        if text.utf8.contains(0) {
            return try parse(bytes: Array(text.utf8), file: file, checkFiles: checkFiles, rules: rules)
        }
        let lines = KeyLines(text)
        if let trap = TOMLParserTraps.first(in: text) {
            throw ConfigErrors([
                ConfigIssue(file: file, line: trap.line, column: trap.column, key: nil, message: trap.message)
            ])
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigErrors([
                ConfigIssue(
                    file: file, line: error.source.begin.line, column: error.source.begin.column, key: nil,
                    message: "TOML syntax error: \(error.description)")
            ])
        } catch {
            throw ConfigErrors([ConfigIssue(file: file, line: 0, key: nil, message: "\(error)")])
        }
        var v = Validator(file: file, lines: lines, checkFiles: checkFiles, rules: rules)
        let config = v.validate(root)
        if !v.issues.isEmpty { throw ConfigErrors(v.issues.sorted { $0.line < $1.line }) }
        return config
    }
}

/// Where each key sits in the file. TOMLKit gives values without positions, so the text is scanned
/// for table headers and `key =` lines (good enough for messages; never used for values). Dotted
/// keys (`detector.sensitivity = ...`) record every prefix; inline tables in an array
/// (`sensor = [ { ... }, { ... } ]`) record each table's line as `sensor[N]`.
struct KeyLines {
    private var lines: [String: Int] = [:]

    init(_ text: String) {
        var table = ""
        var arrayCounts: [String: Int] = [:]
        var inMultiline: String?
        // An array value being scanned across lines: its key, bracket depth, tables seen.
        var array: ArrayScan?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            // A byte order mark before the first line is not part of it (the parser skips it).
            let raw = index == 0 && raw.hasPrefix("\u{FEFF}") ? raw.dropFirst() : raw
            let line = raw.trimmed
            if let delimiter = inMultiline {
                if line.firstRange(of: delimiter) != nil { inMultiline = nil }
                continue
            }
            if var a = array {
                a.scan(Substring(line), line: number, into: &lines)
                array = a.depth > 0 ? a : nil
                continue
            }
            if line.hasPrefix("[[") {
                let name = Self.keyPath(Self.headerName(line.dropFirst(2)))
                let n = arrayCounts[name, default: -1] + 1
                arrayCounts[name] = n
                table = "\(name)[\(n)]"
                lines[table] = number
            } else if line.hasPrefix("[") {
                table = Self.keyPath(Self.headerName(line.dropFirst()))
                if lines[table] == nil { lines[table] = number }
            } else if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = Self.keyPath(line[..<eq])
                let full = table.isEmpty ? key : "\(table).\(key)"
                // Every prefix of a dotted key sits on this line too (unless defined earlier).
                var prefix = ""
                for part in full.split(separator: ".") {
                    prefix = prefix.isEmpty ? String(part) : prefix + "." + part
                    if lines[prefix] == nil { lines[prefix] = number }
                }
                let rest = line[line.index(after: eq)...]
                for d in ["\"\"\"", "'''"] where rest.ranges(of: d).count == 1 {
                    inMultiline = d
                }
                if rest.trimmed.hasPrefix("[") {
                    var a = ArrayScan(key: full)
                    a.scan(rest, line: number, into: &lines)
                    if a.depth > 0 { array = a }
                }
            }
        }
    }

    /// Follows an array value's brackets, recording the line of each inline table at its top.
    private struct ArrayScan {
        var key: String
        var depth = 0
        var braces = 0
        var count = 0

        mutating func scan(_ text: Substring, line: Int, into lines: inout [String: Int]) {
            var quote: Character?
            for c in text {
                if let q = quote {
                    if c == q { quote = nil }
                    continue
                }
                switch c {
                case "\"", "'": quote = c
                case "#": return
                case "[": depth += 1
                case "]":
                    depth -= 1
                    if depth <= 0 { return }
                case "{":
                    if depth == 1, braces == 0 {
                        lines["\(key)[\(count)]"] = line
                        count += 1
                    }
                    braces += 1
                case "}": braces -= 1
                default: break
                }
            }
        }
    }

    private static func headerName(_ s: Substring) -> Substring {
        let end = s.firstIndex(of: "]") ?? s.endIndex
        return s[..<end]
    }

    /// `a . "b" .c` -> `a.b.c`: a key as the validator names it.
    private static func keyPath(_ s: Substring) -> String {
        s.split(separator: ".", omittingEmptySubsequences: false).map { part -> String in
            var k = part.trimmed
            k = String(k.trimmingPrefix(while: { $0 == "\"" || $0 == "'" }))
            while k.last == "\"" || k.last == "'" { k.removeLast() }
            return k
        }.joined(separator: ".")
    }

    /// The line of `key`, else of the closest enclosing table, else 0.
    func line(of key: String) -> Int {
        var k = key
        while true {
            if let l = lines[k] { return l }
            if let dot = k.lastIndex(of: ".") {
                k = String(k[..<dot])
            } else if k.hasSuffix("]"), let bracket = k.lastIndex(of: "[") {
                k = String(k[..<bracket])
            } else {
                return 0
            }
        }
    }
}

/// Shapes of TOML that trip an assertion inside TOMLKit's parser (toml++ 3), which aborts the
/// process (and would be undefined behaviour with NDEBUG) instead of reporting a syntax error.
/// Found by fuzzing (Fuzz/Sources/FuzzConfig); each is refused with its line before the parser
/// sees the text.
enum TOMLParserTraps {
    /// The first trap in `text`: 1-based line and column, and what is wrong there.
    static func first(in text: String) -> (line: Int, column: Int, message: String)? {
        let b = Array(text.utf8)
        var stack: [UInt8] = []
        var expectValue = false
        var lineStart = true
        var line = 1
        var column = 0
        // A byte order mark is not part of the first line (toml++ skips it).
        var i = b.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        func advance() {
            if b[i] == 10 {
                line += 1
                column = 0
            } else {
                column += 1
            }
            i += 1
        }
        while i < b.count {
            let c = b[i]
            if c == 10 {
                advance()
                lineStart = true
                if stack.isEmpty { expectValue = false }
                continue
            }
            if c == 32 || c == 9 || c == 13 {
                advance()
                continue
            }
            if c == 35 {  // a comment runs to the end of the line
                while i < b.count, b[i] != 10 { advance() }
                continue
            }
            if c == 34 || c == 39 {  // strings, basic or literal, single or triple
                let triple = i + 2 < b.count && b[i + 1] == c && b[i + 2] == c
                let width = triple ? 3 : 1
                for _ in 0..<width { advance() }
                while i < b.count {
                    if c == 34, b[i] == 92 {  // an escape in a basic string
                        advance()
                        if i < b.count { advance() }
                        continue
                    }
                    if !triple, b[i] == 10 { break }
                    if b[i] == c, !triple || (i + 2 < b.count && b[i + 1] == c && b[i + 2] == c) {
                        for _ in 0..<width { advance() }
                        break
                    }
                    advance()
                }
                expectValue = false
                lineStart = false
                continue
            }
            if expectValue, stack.last == 91, c == 125 {
                return (line, column + 1, "TOML syntax error: '}' where a value of the array should be")
            }
            if stack.isEmpty, lineStart, c == 91 {  // a table header: the rest of the line
                if let offset = badHeaderName(b, from: i) {
                    return (
                        line, column + offset + 1,
                        "TOML syntax error: a table name starts with a letter, digit, '_', '-' or a quote"
                    )
                }
                while i < b.count, b[i] != 10 { advance() }
                continue
            }
            lineStart = false
            switch c {
            case 61:  // =
                expectValue = true
            case 91:  // [
                if expectValue { stack.append(91) }
            case 93:  // ]
                if stack.last == 91 { stack.removeLast() }
                expectValue = false
            case 123:  // {
                if expectValue { stack.append(123) }
                expectValue = false
            case 125:  // }
                if stack.last == 123 { stack.removeLast() }
                expectValue = false
            case 44:  // ,
                expectValue = stack.last == 91
            default:
                expectValue = false
            }
            // Too deep to be a configuration: leave it to the parser's own limits.
            if stack.count > 1000 { return nil }
            advance()
        }
        return nil
    }

    /// For a table header starting at `start` (`[` or `[[`), the byte offset of a name that starts
    /// with something other than a bare-key character (A-Z a-z 0-9 _ -), a quote or `]`, or of
    /// the line's end when nothing follows; nil when it is fine. toml++ asserts on such a header
    /// (`[/x]`, `[[`, `[` and a combining mark). Bytes, not Characters: a combining mark after `[`
    /// makes one Character of the two, and a Character test would miss the bracket.
    static func badHeaderName(_ b: [UInt8], from start: Int) -> Int? {
        var i = start + 1
        if i < b.count, b[i] == 91 { i += 1 }
        while i < b.count, b[i] == 32 || b[i] == 9 { i += 1 }
        guard i < b.count, b[i] != 10 else { return i - start }
        let c = b[i]
        let fine =
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F
            || c == 0x2D || c == 0x22 || c == 0x27 || c == 0x5D
        return fine ? nil : i - start
    }
}

private struct Validator {
    let file: String
    let lines: KeyLines
    let checkFiles: Bool
    let rules: (any SensorRules)?
    var issues: [ConfigIssue] = []

    mutating func fail(_ key: String, _ message: String) {
        issues.append(ConfigIssue(file: file, line: lines.line(of: key), key: key, message: message))
    }

    mutating func checkKeys(_ table: TOMLTable, path: String, known: [String]) {
        for key in table.keys where !known.contains(key) {
            let full = path.isEmpty ? key : "\(path).\(key)"
            if let suggestion = closest(key, in: known) {
                fail(full, "unknown key; did you mean `\(suggestion)`?")
            } else {
                fail(full, "unknown key (known here: \(known.joined(separator: ", ")))")
            }
        }
    }

    mutating func string(_ table: TOMLTable, _ key: String, path: String) -> String? {
        guard let value = table[key] else { return nil }
        guard let s = value.string else {
            fail("\(path).\(key)", "expected a string, found \(describe(value))")
            return nil
        }
        return s
    }

    mutating func bool(_ table: TOMLTable, _ key: String, path: String) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let b = value.bool else {
            fail("\(path).\(key)", "expected true or false, found \(describe(value))")
            return nil
        }
        return b
    }

    mutating func number(_ table: TOMLTable, _ key: String, path: String) -> Double? {
        guard let value = table[key] else { return nil }
        if let i = value.int { return Double(i) }
        if let d = value.double {
            if d.isFinite { return d }
            fail(
                "\(path).\(key)",
                "expected a finite number, found \(d.isNaN ? "nan" : d > 0 ? "inf" : "-inf")")
            return nil
        }
        fail("\(path).\(key)", "expected a number, found \(describe(value))")
        return nil
    }

    mutating func validate(_ root: TOMLTable) -> DaemonConfiguration {
        var config = DaemonConfiguration()
        config.file = file
        checkKeys(root, path: "", known: ["sensor", "detector", "output", "daemon"])

        if let value = root["detector"] {
            if let t = value.table {
                checkKeys(t, path: "detector", known: ["sensitivity"])
                if let v = t["sensitivity"] {
                    let parsed: Sensitivity?
                    if let s = v.string {
                        parsed = Sensitivity(parsing: s)
                    } else if let n = v.double ?? v.int.map(Double.init), (0...1).contains(n) {
                        parsed = Sensitivity(n)
                    } else {
                        parsed = nil
                    }
                    if let parsed {
                        config.sensitivity = parsed
                    } else {
                        fail("detector.sensitivity", "expected low, normal, high or a number in 0...1")
                    }
                }
            } else {
                fail("detector", "expected a table `[detector]`")
            }
        }

        if let value = root["output"] {
            if let t = value.table {
                checkKeys(t, path: "output", known: ["journal", "journal_socket", "event_socket"])
                if let b = bool(t, "journal", path: "output") { config.journal = b }
                if let s = string(t, "journal_socket", path: "output") {
                    if s.hasPrefix("/") {
                        config.journalSocket = s
                    } else {
                        fail("output.journal_socket", "expected an absolute path")
                    }
                }
                if let s = string(t, "event_socket", path: "output") {
                    if s.isEmpty || s == "none" {
                        config.eventSocket = nil
                    } else if s.hasPrefix("/") {
                        config.eventSocket = s
                    } else {
                        fail("output.event_socket", "expected an absolute path, or \"none\"")
                    }
                }
            } else {
                fail("output", "expected a table `[output]`")
            }
        }

        if let value = root["daemon"] {
            if let t = value.table {
                checkKeys(
                    t, path: "daemon",
                    known: ["state_directory", "realtime_priority", "lock_memory", "wearer"])
                if let s = string(t, "state_directory", path: "daemon") {
                    if s.hasPrefix("/") {
                        config.stateDirectory = s
                    } else {
                        fail("daemon.state_directory", "expected an absolute path")
                    }
                }
                if let v = t["realtime_priority"] {
                    if let i = v.int, (0...99).contains(i) {
                        config.realtimePriority = i == 0 ? nil : Int32(i)
                    } else {
                        fail("daemon.realtime_priority", "expected an integer in 0...99 (0 = off)")
                    }
                }
                if let b = bool(t, "lock_memory", path: "daemon") { config.lockMemory = b }
                if let s = string(t, "wearer", path: "daemon") {
                    if !s.isEmpty, s.count <= 64,
                        s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
                    {
                        config.wearer = s
                    } else {
                        fail(
                            "daemon.wearer",
                            "expected a name or code of 1 to 64 printable characters, e.g. \"p07\"")
                    }
                }
            } else {
                fail("daemon", "expected a table `[daemon]`")
            }
        }

        guard let sensorValue = root["sensor"] else {
            issues.append(
                ConfigIssue(
                    file: file, line: 0, key: "sensor",
                    message: "no sensor configured; add at least one [[sensor]] table"))
            return config
        }
        guard let array = sensorValue.array else {
            fail("sensor", "expected one or more `[[sensor]]` tables (note the double brackets)")
            return config
        }
        var entries: [SensorEntry] = []
        for index in 0..<array.count {
            let path = "sensor[\(index)]"
            guard let t = array[index].table else {
                fail(path, "expected a table")
                continue
            }
            // Every table goes to the rules (a file with any problem is refused anyway, and a
            // chip problem is worth reporting with the others), without the keys that already failed.
            let before = issues.count
            let sensor = validateSensor(t, path: path)
            let failed = Set(
                issues[before...].compactMap { $0.key?.split(separator: ".").last.map(String.init) })
            entries.append(SensorEntry(path: path, sensor: sensor, given: Set(t.keys).subtracting(failed)))
        }
        if array.count == 0 {
            fail("sensor", "no sensor configured; add at least one [[sensor]] table")
        }
        // Two sensors cannot share one device or one label.
        var seenDevices: [String: String] = [:]
        var seenLocations: [String: String] = [:]
        for e in entries {
            let s = e.sensor
            if case .fixed = s.address, let other = seenDevices[s.device] {
                fail("\(e.path).address", "\(s.bus) \(s.address) is already used by \(other)")
            }
            seenDevices[s.device] = e.path
            if let other = seenLocations[s.location] {
                fail("\(e.path).location", "`\(s.location)` is already used by \(other)")
            }
            seenLocations[s.location] = e.path
        }
        if let rules {
            for issue in rules.apply(to: &entries) {
                fail(issue.key.map { "\(issue.path).\($0)" } ?? issue.path, issue.message)
            }
        }
        config.sensors = entries.map(\.sensor)
        return config
    }

    mutating func validateSensor(_ t: TOMLTable, path: String) -> SensorConfiguration {
        checkKeys(
            t, path: path,
            known: [
                "bus", "address", "chip", "rate", "range", "interrupt", "location", "trace", "seed", "speed",
                "twitches_per_minute", "episodes_per_hour",
            ])
        let bus = string(t, "bus", path: path)
        if t["bus"] == nil { fail(path, "missing key `bus` (e.g. \"/dev/i2c-1\" or \"sim:adxl355\")") }
        let location = string(t, "location", path: path)
        if t["location"] == nil { fail(path, "missing key `location` (e.g. \"left-calf\")") }
        var sensor = SensorConfiguration(bus: bus ?? "", location: location ?? "")
        sensor.line = lines.line(of: path)

        if let bus {
            // Which simulated chips exist is for the rules to say.
            if !bus.hasPrefix("sim:") && !bus.hasPrefix("/dev/") {
                fail("\(path).bus", "expected a device such as \"/dev/i2c-1\", or \"sim:CHIP\"")
            }
        }
        if let location {
            let allowed: (Character) -> Bool = {
                $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "."
            }
            if location.isEmpty || !location.allSatisfy(allowed) {
                fail(
                    "\(path).location",
                    "expected a label of letters, digits, '-', '_' or '.' (e.g. left-calf)")
            }
        }
        if let v = t["address"] {
            if let s = v.string, s == "auto" {
                sensor.address = .auto
            } else if let i = v.int, (0x03...0x77).contains(i) {
                sensor.address = .fixed(UInt8(i))
            } else {
                fail("\(path).address", "expected \"auto\" or a 7-bit I2C address in 0x03...0x77 (e.g. 0x1D)")
            }
        }
        // Which chips exist, and the rates and ranges each can do, are for the rules to say.
        if let s = string(t, "chip", path: path) {
            if s.isEmpty {
                fail("\(path).chip", "expected a chip name, or \"auto\"")
            } else {
                sensor.chip = ChipName(s.lowercased())
            }
        }
        if let r = number(t, "rate", path: path) {
            if r > 0 {
                sensor.rate = r
            } else {
                fail("\(path).rate", "expected an output data rate in Hz, more than 0")
            }
        }
        if let v = t["range"] {
            if let g = v.int, (1...64).contains(g) {
                sensor.rangeG = Int(g)
            } else {
                fail("\(path).range", "expected a full-scale range in g, e.g. 2 or 4")
            }
        }
        if let s = string(t, "interrupt", path: path) {
            if s.isEmpty || s.lowercased() == "none" {
                sensor.interrupt = nil
            } else {
                sensor.interrupt = s
            }
        }
        let simulated = sensor.isSimulated
        if let s = string(t, "trace", path: path) {
            if !simulated {
                fail("\(path).trace", "only a simulated bus (\"sim:CHIP\") plays a trace")
            } else if checkFiles && !FileManager.default.isReadableFile(atPath: s) {
                fail("\(path).trace", "cannot read trace file \(s)")
            } else {
                sensor.trace = s
            }
        }
        if let v = t["seed"] {
            if !simulated {
                fail("\(path).seed", "only a simulated bus (\"sim:CHIP\") takes a simulator seed")
            } else if let i = v.int, i >= 0 {
                sensor.seed = UInt64(i)
            } else {
                fail("\(path).seed", "expected a non-negative integer")
            }
        }
        if let s = number(t, "speed", path: path) {
            if !simulated {
                fail("\(path).speed", "only a simulated bus (\"sim:CHIP\") can run faster than real time")
            } else if (0.01...1000).contains(s) {
                sensor.speed = s
            } else {
                fail("\(path).speed", "expected a factor in 0.01...1000 (1 = real time)")
            }
        }
        for (key, limit) in [("twitches_per_minute", 120.0), ("episodes_per_hour", 600.0)] {
            guard let v = number(t, key, path: path) else { continue }
            if !simulated {
                fail("\(path).\(key)", "only a simulated bus (\"sim:CHIP\") takes simulator settings")
            } else if !(0...limit).contains(v) {
                fail("\(path).\(key)", "expected a number in 0...\(Int(limit))")
            } else if key == "twitches_per_minute" {
                sensor.twitchesPerMinute = v
            } else {
                sensor.episodesPerHour = v
            }
        }
        return sensor
    }

    private func describe(_ value: any TOMLValueConvertible) -> String {
        switch value.type {
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a number"
        case .bool: return "a boolean"
        case .table: return "a table"
        case .array: return "an array"
        default: return "a date/time"
        }
    }
}

/// The known word closest to `word` when it is a plausible typo (edit distance at most 2).
public func closest(_ word: String, in known: [String]) -> String? {
    var best: (String, Int)?
    for k in known {
        let d = editDistance(word.lowercased(), k)
        if d <= max(1, min(2, k.count / 3)), d < (best?.1 ?? Int.max) { best = (k, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8)
    let b = Array(b.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
