// Reads twitchd's entries from a journal through libsystemd's sd-journal API, keeping only
// entries the trust rules accept (docs/journal-fields.md, "Trusted entries").

import CSystemd
public import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Which journal to read, as journalctl names them.
public enum JournalSource: Sendable, Equatable, CustomStringConvertible {
    /// The local system journal (journalctl's default).
    case system
    /// A journal namespace (`journalctl --namespace NAME`).
    case namespace(String)
    /// Every journal file in a directory (`--directory`, e.g. what systemd-journal-remote
    /// received in /var/log/journal/remote).
    case directory(String)
    /// These journal files (`--file`).
    case files([String])

    public var description: String {
        switch self {
        case .system: return "the system journal"
        case .namespace(let n): return "journal namespace \(n)"
        case .directory(let d): return "journal directory \(d)"
        case .files(let f): return f.count == 1 ? "journal file \(f[0])" : "\(f.count) journal files"
        }
    }
}

/// Which entries count.
///
/// Anyone can send any field to journald, so `MESSAGE_ID` and `TWITCH_*` prove nothing; only the
/// fields journald adds itself (they begin with `_`) do. A twitch or exposure entry counts when
/// - `_SYSTEMD_UNIT` is the twitchd service (journald takes it from the sender's cgroup, which an
///   unprivileged process cannot choose), or
/// - the source is not the system journal (a namespace, a directory, files) and the entry comes
///   from the twitchd program (`_COMM=twitchd`) running under a trusted `_UID`: root, the
///   `twitchd` system user, the user running the report, and any `--trust-uid`.
/// Notes count from any user running the twitchd program (`_COMM=twitchd`; any user may write
/// notes) and keep the writer's `_UID`. Simulated entries (`TWITCH_SIMULATED=1`) count only when
/// `includeSimulated` is set.
public struct TrustPolicy: Sendable, Equatable {
    public var serviceUnit = "twitchd.service"
    public var program = "twitchd"
    /// Whether entries from the twitchd program outside the service count (not for the system
    /// journal, where the service is the only writer that counts).
    public var acceptProgram: Bool
    public var trustedUIDs: Set<Int>
    public var includeSimulated: Bool

    public init(acceptProgram: Bool, trustedUIDs: Set<Int>, includeSimulated: Bool) {
        self.acceptProgram = acceptProgram
        self.trustedUIDs = trustedUIDs
        self.includeSimulated = includeSimulated
    }

    /// The default for `source`: root, the `twitchd` user and the caller, plus `extraUIDs`.
    public static func standard(for source: JournalSource, includeSimulated: Bool, extraUIDs: [Int] = [])
        -> TrustPolicy
    {
        var uids: Set<Int> = [0, Int(getuid())]
        if let pw = getpwnam("twitchd") { uids.insert(Int(pw.pointee.pw_uid)) }
        for u in extraUIDs { uids.insert(u) }
        return TrustPolicy(
            acceptProgram: source != .system, trustedUIDs: uids, includeSimulated: includeSimulated)
    }
}

/// Why a journal could not be read.
public struct JournalReadError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var exit: SysExit
}

/// Reads twitches, exposure periods and notes from a journal.
public enum JournalReader {
    /// Entries received up to this long before `since` are still looked at (clock steps); every
    /// entry received after it is read, since an entry delivered late from the spool (or copied in
    /// later) carries its own, earlier time.
    public static let receptionSlackUsec: Int64 = 6 * 3_600_000_000

    /// Reads every trusted twitch, exposure and note entry of `source` whose own time lies in
    /// `since..<until` (microseconds since the epoch; nil: unbounded).
    ///
    /// With `cache` (the default), each journal file is read once and what it held is kept in
    /// the user's cache directory (see ``ReportCache``); later reports read only what was
    /// added since. Without it, or when there is no usable cache directory, the journal is read
    /// directly from `since`.
    public static func read(
        _ source: JournalSource, policy: TrustPolicy, sinceUsec: Int64?, untilUsec: Int64?, cache: Bool = true
    ) throws(JournalReadError) -> ReportData {
        if cache, let dir = ReportCache.directory(), let files = journalFiles(source), !files.isEmpty {
            var parser = EntryParser(
                policy: policy, sinceUsec: sinceUsec ?? Int64.min, untilUsec: untilUsec ?? Int64.max)
            for file in files {
                guard let record = try readFile(file, cacheDirectory: dir) else { continue }
                for raw in record.entries { parser.replay(raw, record.strings) }
            }
            return parser.data
        }
        return try readDirect(source, policy: policy, sinceUsec: sinceUsec, untilUsec: untilUsec)
    }

    /// The journal files behind `source`, or nil when they cannot be listed.
    static func journalFiles(_ source: JournalSource) -> [String]? {
        func list(_ dir: String) -> [String] {
            guard let d = opendir(dir) else { return [] }
            defer { closedir(d) }
            var out: [String] = []
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name.hasSuffix(".journal") || name.hasSuffix(".journal~") { out.append(dir + "/" + name) }
            }
            return out.sorted()
        }
        let machine = ((try? readSmallFile("/etc/machine-id")) ?? "").filter { $0.isHexDigit }
        switch source {
        case .system:
            guard machine.count == 32 else { return nil }
            return list("/var/log/journal/\(machine)") + list("/run/log/journal/\(machine)")
        case .namespace(let name):
            guard machine.count == 32 else { return nil }
            return list("/var/log/journal/\(machine).\(name)") + list("/run/log/journal/\(machine).\(name)")
        case .directory(let dir):
            return list(dir)
        case .files(let files):
            return files
        }
    }

    static func readSmallFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = posixRead(fd, &buf, buf.count)
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }

    /// What `file` holds: from the cache, plus whatever was appended since.
    static func readFile(_ file: String, cacheDirectory: String) throws(JournalReadError) -> FileRecord? {
        guard let key = ReportCache.key(for: file) else { return nil }
        let cacheFile = cacheDirectory + "/" + key
        var record = ReportCache.load(cacheFile)
        var handle: OpaquePointer?
        var paths: [UnsafePointer<CChar>?] = [UnsafePointer(strdup(file)), nil]
        defer { free(UnsafeMutablePointer(mutating: paths[0])) }
        let r = paths.withUnsafeMutableBufferPointer { sd_journal_open_files(&handle, $0.baseAddress, 0) }
        guard r >= 0, let j = handle else {
            let e = -r
            throw JournalReadError(
                description: "cannot open \(file): \(String(cString: strerror(e)))"
                    + (e == EACCES ? " (add yourself to group systemd-journal, or use sudo)" : ""),
                exit: e == EACCES || e == EPERM ? .noPerm : .ioErr)
        }
        defer { sd_journal_close(j) }
        _ = sd_journal_set_data_threshold(j, 4096)
        for id in [kTwitch, kExposure, kNote] {
            let m = "MESSAGE_ID=" + id
            _ = sd_journal_add_match(j, m, m.utf8.count)
        }
        var parser = EntryParser(
            policy: TrustPolicy(acceptProgram: false, trustedUIDs: [], includeSimulated: false), sinceUsec: 0,
            untilUsec: 0)
        parser.capturing = true
        if let cached = record, sd_journal_seek_cursor(j, cached.cursor) >= 0, sd_journal_next(j) > 0,
            sd_journal_test_cursor(j, cached.cursor) > 0
        {
            for s in cached.strings { _ = parser.strings.index(s) }
        } else {
            record = nil
            _ = sd_journal_seek_head(j)
        }
        let added = try feedRemainingEntries(j, to: &parser, source: file)
        if let cached = record, added == 0 { return cached }
        var cursor = record?.cursor ?? ""
        // At the end sd_journal_next() leaves the read pointer on the last entry: its cursor.
        if added > 0 {
            var c: UnsafeMutablePointer<CChar>?
            if sd_journal_get_cursor(j, &c) >= 0, let c {
                cursor = String(cString: c)
                free(c)
            }
        }
        let fresh = FileRecord(
            cursor: cursor, strings: parser.strings.list, entries: (record?.entries ?? []) + parser.captured)
        if !cursor.isEmpty { ReportCache.save(fresh, to: cacheFile) }
        return fresh
    }

    /// Reads `source` through sd-journal from `since` on, without the cache.
    static func readDirect(
        _ source: JournalSource, policy: TrustPolicy, sinceUsec: Int64?, untilUsec: Int64?
    ) throws(JournalReadError) -> ReportData {
        var handle: OpaquePointer?
        var r: Int32
        switch source {
        case .system:
            r = sd_journal_open(&handle, 0)
        case .namespace(let name):
            r = sd_journal_open_namespace(&handle, name, 0)
        case .directory(let dir):
            var st = stat()
            if stat(dir, &st) != 0 {
                throw JournalReadError(description: "\(dir): no such directory", exit: .noInput)
            }
            r = sd_journal_open_directory(&handle, dir, 0)
        case .files(let files):
            for f in files where access(f, F_OK) != 0 {
                throw JournalReadError(description: "\(f): no such file", exit: .noInput)
            }
            var cstrings: [UnsafePointer<CChar>?] = files.map { UnsafePointer(strdup($0)) }
            defer { for p in cstrings { free(UnsafeMutablePointer(mutating: p)) } }
            cstrings.append(nil)
            r = cstrings.withUnsafeMutableBufferPointer { buf in
                sd_journal_open_files(&handle, buf.baseAddress, 0)
            }
        }
        guard r >= 0, let j = handle else {
            let e = -r
            throw JournalReadError(
                description: "cannot open \(source): \(String(cString: strerror(e)))"
                    + (e == EACCES ? " (add yourself to group systemd-journal, or use sudo)" : ""),
                exit: e == EACCES || e == EPERM ? .noPerm : (e == ENOENT ? .noInput : .ioErr))
        }
        defer { sd_journal_close(j) }
        _ = sd_journal_set_data_threshold(j, 4096)
        for id in [kTwitch, kExposure, kNote] {
            let m = "MESSAGE_ID=" + id
            _ = sd_journal_add_match(j, m, m.utf8.count)
        }
        if let sinceUsec {
            let seek = max(0, sinceUsec - receptionSlackUsec)
            _ = sd_journal_seek_realtime_usec(j, UInt64(seek))
        } else {
            _ = sd_journal_seek_head(j)
        }
        var parser = EntryParser(
            policy: policy, sinceUsec: sinceUsec ?? Int64.min, untilUsec: untilUsec ?? Int64.max)
        _ = try feedRemainingEntries(j, to: &parser, source: "\(source)")
        return parser.data
    }

    static let kTwitch = "e1a046b8355640d8bf66367ef4914329"
    static let kExposure = "07cc454edfa24dcead5a9b11faa154fb"
    static let kNote = "af031bbaa21147288fe49214982afefe"
}

/// Turns the fields of one entry at a time into records (allocation-light: numbers are parsed
/// from the bytes, repeated strings are reused).
struct EntryParser {
    let policy: TrustPolicy
    let sinceUsec: Int64
    let untilUsec: Int64
    var data = ReportData()

    enum Kind { case none, twitch, exposure, note }
    // Current entry.
    var kind = Kind.none
    var unit = false
    var comm = false
    var uid = -1
    var simulated = false
    var time: Int64?
    var endTime: Int64?
    var seq: UInt64?
    var peak = 0.0
    var freq = 0.0
    var duration = 0.0
    var rest: Double?
    var active = 0.0
    var notWorn = 0.0
    var gap = 0.0
    var lost = 0
    var location = ""
    var sensor = ""
    var wearer = ""
    var hostname = ""
    var machineID = ""
    var noteKind = ""
    var noteText = ""
    var noteLocation: String?

    // Strings seen before, reused instead of allocated again.
    var internTable: [Int: [String]] = [:]
    var seen = Set<DedupKey>()
    /// When set, `end()` only records the entry's fields (for the cache), without judging it.
    var capturing = false
    var captured: [RawEntry] = []
    var strings = StringTable()

    struct DedupKey: Hashable {
        var machine: String
        var seq: UInt64
        var time: Int64
        var kind: UInt8
    }

    init(policy: TrustPolicy, sinceUsec: Int64, untilUsec: Int64) {
        self.policy = policy
        self.sinceUsec = sinceUsec
        self.untilUsec = untilUsec
    }

    mutating func begin() {
        kind = .none
        unit = false
        comm = false
        uid = -1
        simulated = false
        time = nil
        endTime = nil
        seq = nil
        peak = 0
        freq = 0
        duration = 0
        rest = nil
        active = 0
        notWorn = 0
        gap = 0
        lost = 0
        location = "unknown"
        sensor = ""
        wearer = ""
        hostname = ""
        machineID = ""
        noteKind = ""
        noteText = ""
        noteLocation = nil
    }

    mutating func field(_ f: UnsafeRawBufferPointer) {
        guard let eq = f.firstIndex(of: UInt8(ascii: "=")) else { return }
        let name = UnsafeRawBufferPointer(rebasing: f[0..<eq])
        let value = UnsafeRawBufferPointer(rebasing: f[(eq + 1)...])
        guard let first = name.first else { return }
        if first == UInt8(ascii: "_") {
            if name.equals("_SYSTEMD_UNIT") {
                unit = value.equals(policy.serviceUnit)
            } else if name.equals("_COMM") {
                comm = value.equals(policy.program)
            } else if name.equals("_UID") {
                uid = Int(value.integer ?? -1)
            } else if name.equals("_HOSTNAME") {
                hostname = intern(value)
            } else if name.equals("_MACHINE_ID") {
                machineID = intern(value)
            }
            return
        }
        if name.equals("MESSAGE_ID") {
            if value.equals(JournalReader.kTwitch) {
                kind = .twitch
            } else if value.equals(JournalReader.kExposure) {
                kind = .exposure
            } else if value.equals(JournalReader.kNote) {
                kind = .note
            }
            return
        }
        guard name.count > 7, name.starts(with: "TWITCH_".utf8) else { return }
        let key = UnsafeRawBufferPointer(rebasing: name[7...])
        if key.equals("ONSET_REALTIME_USEC") || key.equals("EXPOSURE_START_REALTIME_USEC")
            || key.equals("NOTE_REALTIME_USEC")
        {
            time = value.integer
        } else if key.equals("EXPOSURE_END_REALTIME_USEC") {
            endTime = value.integer
        } else if key.equals("PEAK_MG") {
            peak = value.decimal ?? 0
        } else if key.equals("FREQ_HZ") {
            freq = value.decimal ?? 0
        } else if key.equals("DURATION_MS") {
            duration = value.decimal ?? 0
        } else if key.equals("LOCATION") {
            location = intern(value)
            noteLocation = location
        } else if key.equals("SENSOR") {
            sensor = intern(value)
        } else if key.equals("WEARER") {
            wearer = intern(value)
        } else if key.equals("SIMULATED") {
            simulated = value.equals("1")
        } else if key.equals("SEQ") {
            seq = value.integer.flatMap { UInt64(exactly: $0) }
        } else if key.equals("REST_S") {
            rest = value.decimal
        } else if key.equals("ACTIVE_S") {
            active = value.decimal ?? 0
        } else if key.equals("NOT_WORN_S") {
            notWorn = value.decimal ?? 0
        } else if key.equals("GAP_S") {
            gap = value.decimal ?? 0
        } else if key.equals("SAMPLES_LOST") {
            lost = Int(value.integer ?? 0)
        } else if key.equals("NOTE_KIND") {
            noteKind = intern(value)
        } else if key.equals("NOTE") {
            noteText = String(decoding: value, as: UTF8.self)
        }
    }

    mutating func end() {
        if capturing {
            if kind != .none { captured.append(raw()) }
            return
        }
        let machine = !wearer.isEmpty ? wearer : (!hostname.isEmpty ? hostname : machineID)
        switch kind {
        case .none:
            return
        case .note:
            guard comm else {
                data.untrusted += 1
                return
            }
            guard let t = time else {
                data.malformed += 1
                return
            }
            guard t >= sinceUsec, t < untilUsec else { return }
            data.notes.append(
                NoteRecord(
                    timeUsec: t, kind: noteKind.isEmpty ? "text" : noteKind, text: noteText,
                    location: noteLocation, uid: uid, machine: machine))
            return
        case .twitch, .exposure:
            break
        }
        let trusted = unit || (policy.acceptProgram && comm && policy.trustedUIDs.contains(uid))
        guard trusted else {
            data.untrusted += 1
            return
        }
        if simulated && !policy.includeSimulated {
            data.simulatedSkipped += 1
            return
        }
        guard let t = time else {
            data.malformed += 1
            return
        }
        // Twitches by their sequence number and onset; exposure periods (outside the event
        // sequence) by their sensor and start.
        let who = machineID.isEmpty ? machine : machineID
        if kind == .exposure || seq != nil {
            let key = DedupKey(
                machine: kind == .exposure ? who + "/" + sensor + "/" + location : who, seq: seq ?? 0,
                time: t,
                kind: kind == .twitch ? 0 : 1)
            if !seen.insert(key).inserted {
                data.duplicates += 1
                return
            }
        }
        if kind == .twitch {
            guard t >= sinceUsec, t < untilUsec else { return }
            data.twitches.append(
                TwitchRecord(
                    timeUsec: t, location: location, sensor: sensor, peakMg: peak, frequencyHz: freq,
                    durationMs: duration, machine: machine, simulated: simulated))
        } else {
            guard let e = endTime, let rest, e >= t, rest >= 0, active >= 0, notWorn >= 0, gap >= 0 else {
                data.malformed += 1
                return
            }
            guard e > sinceUsec, t < untilUsec else { return }
            data.exposures.append(
                ExposureRecord(
                    startUsec: t, endUsec: e, location: location, sensor: sensor, rest: rest, active: active,
                    notWorn: notWorn, gap: gap, samplesLost: lost, machine: machine, simulated: simulated))
        }
    }

    /// The fields of the current entry, as the cache keeps them.
    mutating func raw() -> RawEntry {
        var flags: UInt16 = 0
        if unit { flags |= 1 }
        if comm { flags |= 2 }
        if simulated { flags |= 4 }
        if time != nil { flags |= 8 }
        if endTime != nil { flags |= 16 }
        if seq != nil { flags |= 32 }
        if rest != nil { flags |= 64 }
        if noteLocation != nil { flags |= 128 }
        return RawEntry(
            kind: kind == .twitch ? 1 : (kind == .exposure ? 2 : 3), flags: flags, uid: Int32(clamping: uid),
            time: time ?? 0, endTime: endTime ?? 0, seq: seq ?? 0, peak: peak, freq: freq, duration: duration,
            rest: rest ?? 0, active: active, notWorn: notWorn, gap: gap, lost: Int64(lost),
            location: strings.index(location), sensor: strings.index(sensor), wearer: strings.index(wearer),
            hostname: strings.index(hostname), machineID: strings.index(machineID),
            noteKind: strings.index(noteKind), noteText: strings.index(noteText),
            noteLocation: strings.index(noteLocation ?? ""))
    }

    /// Judges a recorded entry as if it had just been read.
    mutating func replay(_ r: RawEntry, _ table: [String]) {
        func str(_ i: UInt32) -> String { Int(i) < table.count ? table[Int(i)] : "" }
        kind = r.kind == 1 ? .twitch : (r.kind == 2 ? .exposure : .note)
        unit = r.flags & 1 != 0
        comm = r.flags & 2 != 0
        simulated = r.flags & 4 != 0
        uid = Int(r.uid)
        time = r.flags & 8 != 0 ? r.time : nil
        endTime = r.flags & 16 != 0 ? r.endTime : nil
        seq = r.flags & 32 != 0 ? r.seq : nil
        rest = r.flags & 64 != 0 ? r.rest : nil
        noteLocation = r.flags & 128 != 0 ? str(r.noteLocation) : nil
        peak = r.peak
        freq = r.freq
        duration = r.duration
        active = r.active
        notWorn = r.notWorn
        gap = r.gap
        lost = Int(truncatingIfNeeded: r.lost)
        location = str(r.location)
        sensor = str(r.sensor)
        wearer = str(r.wearer)
        hostname = str(r.hostname)
        machineID = str(r.machineID)
        noteKind = str(r.noteKind)
        noteText = str(r.noteText)
        end()
    }

    /// The String for `bytes`, shared with earlier equal values.
    mutating func intern(_ bytes: UnsafeRawBufferPointer) -> String {
        var h = bytes.count
        for b in bytes { h = h &* 31 &+ Int(b) }
        if let bucket = internTable[h] {
            for s in bucket where s.utf8.elementsEqual(bytes) { return s }
        }
        let s = String(decoding: bytes, as: UTF8.self)
        if (internTable[h]?.count ?? 0) < 8 { internTable[h, default: []].append(s) }
        return s
    }
}

extension UnsafeRawBufferPointer {
    func equals(_ s: String) -> Bool {
        s.utf8.count == count && s.utf8.elementsEqual(self)
    }

    /// A decimal integer (optional sign), or nil.
    var integer: Int64? {
        var i = 0
        var negative = false
        if i < count, self[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard i < count else { return nil }
        var v: Int64 = 0
        while i < count {
            let d = Int64(self[i]) - 48
            guard d >= 0, d <= 9 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return negative ? -v : v
    }

    /// A plain decimal number like `12.44` or `-3` (what twitchd writes), or nil.
    var decimal: Double? {
        var i = 0
        var negative = false
        if i < count, self[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        var whole = 0.0
        var digits = 0
        while i < count, self[i] >= 48, self[i] <= 57 {
            whole = whole * 10 + Double(self[i] - 48)
            digits += 1
            i += 1
        }
        if i < count, self[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < count, self[i] >= 48, self[i] <= 57 {
                whole += Double(self[i] - 48) * scale
                scale /= 10
                digits += 1
                i += 1
            }
        }
        guard digits > 0, i == count, whole.isFinite else { return nil }
        return negative ? -whole : whole
    }
}

/// read(2), named apart from ``JournalReader/read(_:policy:sinceUsec:untilUsec:cache:)``.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Hands every entry from the journal's current position to the end to `parser`, field by field;
/// returns how many entries it read.
func feedRemainingEntries(
    _ j: OpaquePointer, to parser: inout EntryParser, source: String
) throws(JournalReadError) -> Int {
    var count = 0
    while true {
        let n = sd_journal_next(j)
        if n < 0 {
            throw JournalReadError(
                description: "reading \(source): \(String(cString: strerror(-n)))", exit: .ioErr)
        }
        if n == 0 { return count }
        parser.begin()
        sd_journal_restart_data(j)
        var data: UnsafeRawPointer?
        var length = 0
        while sd_journal_enumerate_data(j, &data, &length) > 0 {
            guard let data else { continue }
            parser.field(UnsafeRawBufferPointer(start: data, count: length))
        }
        parser.end()
        count += 1
    }
}
