// Reads twitchd's entries from a journal through libsystemd's sd-journal API, keeping only
// entries the trust rules accept (docs/journal-fields.md, "Trusted entries").

import CSystemd
import Synchronization
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
    /// Each journal file is read on its own, two or more at a time (one per CPU). With `cache`
    /// (the default), what each file held is kept in the user's cache directory (see
    /// ``ReportCache``), and later reports read only what was added since. Without it, or when
    /// there is no usable cache directory, each file is read from `since` (less
    /// ``receptionSlackUsec``). When the files cannot be listed, sd-journal reads `source` as a
    /// whole.
    public static func read(
        _ source: JournalSource, policy: TrustPolicy, sinceUsec: Int64?, untilUsec: Int64?, cache: Bool = true
    ) throws(JournalReadError) -> ReportData {
        try read(
            source, policy: policy, sinceUsec: sinceUsec, untilUsec: untilUsec,
            cacheDirectory: cache ? ReportCache.directory() : nil, threads: 0)
    }

    /// `read` with the cache in `cacheDirectory` (nil: none) and `threads` files read at a time
    /// (0: one per CPU).
    static func read(
        _ source: JournalSource, policy: TrustPolicy, sinceUsec: Int64?, untilUsec: Int64?,
        cacheDirectory: String?, threads: Int
    ) throws(JournalReadError) -> ReportData {
        if case .files(let files) = source {
            for f in files where access(f, F_OK) != 0 {
                throw JournalReadError(description: "\(f): no such file", exit: .noInput)
            }
        }
        guard let files = journalFiles(source), !files.isEmpty else {
            return try readDirect(source, policy: policy, sinceUsec: sinceUsec, untilUsec: untilUsec)
        }
        let from = cacheDirectory == nil ? sinceUsec.map { max(0, $0 - receptionSlackUsec) } : nil
        var parser = EntryParser(
            policy: policy, sinceUsec: sinceUsec ?? Int64.min, untilUsec: untilUsec ?? Int64.max)
        try readFiles(files, cacheDirectory: cacheDirectory, fromUsec: from, threads: threads) { record in
            parser.replay(record)
        }
        return parser.data
    }

    /// Hands what each of `files` holds (see ``readFile(_:cacheDirectory:fromUsec:)``) to
    /// `consume`, in their order, on this thread; `threads` files are read at a time (0: one per
    /// CPU). Each record is let go once consumed. The first error in that order is thrown.
    static func readFiles(
        _ files: [String], cacheDirectory: String?, fromUsec: Int64?, threads: Int,
        consume: (FileRecord) -> Void
    ) throws(JournalReadError) {
        typealias Outcome = Result<FileRecord?, JournalReadError>
        @Sendable func one(_ file: String) -> Outcome {
            do throws(JournalReadError) {
                return .success(try readFile(file, cacheDirectory: cacheDirectory, fromUsec: fromUsec))
            } catch {
                return .failure(error)
            }
        }
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let workers = min(files.count, threads > 0 ? threads : max(1, cpus))
        if workers <= 1 {
            for file in files {
                switch one(file) {
                case .success(let record): if let record { consume(record) }
                case .failure(let error): throw error
                }
            }
            return
        }
        let shared = Mutex((next: 0, outcomes: [Outcome?](repeating: nil, count: files.count)))
        @Sendable func claim() -> Int? {
            shared.withLock { s -> Int? in
                guard s.next < files.count else { return nil }
                defer { s.next += 1 }
                return s.next
            }
        }
        let work = { @Sendable () -> Void in
            while let i = claim() {
                let outcome = one(files[i])
                shared.withLock { $0.outcomes[i] = outcome }
            }
        }
        var running: [pthread_t] = []
        for _ in 1..<workers {
            if let t = startThread(work) { running.append(t) }
        }
        // This thread reads too, and between its files consumes those done so far, in order.
        var consumed = 0
        var failure: JournalReadError?
        func consumeReady() {
            while failure == nil, consumed < files.count {
                let done = shared.withLock { s -> Outcome? in
                    defer { s.outcomes[consumed] = nil }
                    return s.outcomes[consumed]
                }
                guard let done else { return }
                consumed += 1
                switch done {
                case .success(let record): if let record { consume(record) }
                case .failure(let error): failure = error
                }
            }
        }
        while let i = claim() {
            let outcome = one(files[i])
            shared.withLock { $0.outcomes[i] = outcome }
            consumeReady()
        }
        for t in running { pthread_join(t, nil) }
        consumeReady()
        if let failure { throw failure }
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

    /// What `file` holds: from the cache in `cacheDirectory`, plus whatever was appended since;
    /// without a cache directory, what it holds from `fromUsec` on (nil: all). Nil when the file
    /// is gone.
    static func readFile(
        _ file: String, cacheDirectory: String?, fromUsec: Int64? = nil
    ) throws(JournalReadError) -> FileRecord? {
        var cacheFile: String?
        var record: FileRecord?
        if let cacheDirectory {
            guard let key = ReportCache.key(for: file) else { return nil }
            cacheFile = cacheDirectory + "/" + key
            record = ReportCache.load(cacheDirectory + "/" + key)
        }
        var handle: OpaquePointer?
        var paths: [UnsafePointer<CChar>?] = [UnsafePointer(strdup(file)), nil]
        defer { free(UnsafeMutablePointer(mutating: paths[0])) }
        let r = paths.withUnsafeMutableBufferPointer { sd_journal_open_files(&handle, $0.baseAddress, 0) }
        guard r >= 0, let j = handle else {
            let e = -r
            if e == ENOENT && cacheDirectory == nil { return nil }
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
        let ignored = TrustPolicy(acceptProgram: false, trustedUIDs: [], includeSimulated: false)
        var parser: EntryParser
        if let cached = record, sd_journal_seek_cursor(j, cached.cursor) >= 0, sd_journal_next(j) > 0,
            sd_journal_test_cursor(j, cached.cursor) > 0
        {
            parser = EntryParser(
                policy: ignored, sinceUsec: 0, untilUsec: 0, strings: StringTable(list: cached.strings))
        } else {
            record = nil
            parser = EntryParser(policy: ignored, sinceUsec: 0, untilUsec: 0)
            if let fromUsec {
                _ = sd_journal_seek_realtime_usec(j, UInt64(max(0, fromUsec)))
            } else {
                _ = sd_journal_seek_head(j)
            }
        }
        parser.capturing = true
        let added = try feedRemainingEntries(j, to: &parser, source: file)
        if let cached = record, added == 0 { return cached }
        var cursor = record?.cursor ?? ""
        // At the end sd_journal_next() leaves the read pointer on the last entry: its cursor.
        if added > 0 && cacheFile != nil {
            var c: UnsafeMutablePointer<CChar>?
            if sd_journal_get_cursor(j, &c) >= 0, let c {
                cursor = String(cString: c)
                free(c)
            }
        }
        let fresh = FileRecord(
            cursor: cursor, strings: parser.strings.list, entries: (record?.entries ?? []) + parser.captured)
        if let cacheFile, !cursor.isEmpty { ReportCache.save(fresh, to: cacheFile) }
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

/// Turns the fields of one entry at a time into records (allocation-light: field names are
/// compared as bytes, numbers parsed from the bytes, strings kept as numbers in ``strings``).
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
    // Strings, as their numbers in `strings` (0 is "").
    var location: UInt32 = 0
    var sensor: UInt32 = 0
    var wearer: UInt32 = 0
    var hostname: UInt32 = 0
    var machineID: UInt32 = 0
    var noteKind: UInt32 = 0
    var noteText: UInt32 = 0
    var noteLocation: UInt32?

    /// Every string read, numbered.
    var strings: StringTable
    /// The number of "unknown" (the location of an entry without one).
    let unknown: UInt32
    /// The last value of each string field and its number: consecutive entries mostly repeat
    /// them, so most fields are found by one comparison.
    var recent = [(bytes: [UInt8], number: UInt32)](repeating: ([], 0), count: Slot.count)
    var seen = DedupSet()
    /// When set, `end()` only records the entry's fields (for the cache), without judging it.
    var capturing = false
    var captured: [RawEntry] = []
    private let serviceUnitBytes: [UInt8]
    private let programBytes: [UInt8]

    enum Slot {
        static let location = 0
        static let sensor = 1
        static let wearer = 2
        static let hostname = 3
        static let machineID = 4
        static let noteKind = 5
        static let noteText = 6
        static let count = 7
    }

    /// Twitches by who and their sequence number and onset; exposure periods (outside the event
    /// sequence) by who, their sensor, location and start. Strings as their numbers.
    struct DedupKey: Equatable {
        var who: UInt32
        var sensor: UInt32
        var location: UInt32
        var kind: UInt8
        var seq: UInt64
        var time: Int64
    }

    /// `strings`: the table to number strings in (a cache file's, to read on after it).
    init(policy: TrustPolicy, sinceUsec: Int64, untilUsec: Int64, strings: StringTable = StringTable()) {
        self.policy = policy
        self.sinceUsec = sinceUsec
        self.untilUsec = untilUsec
        self.strings = strings
        unknown = self.strings.index("unknown")
        location = unknown
        serviceUnitBytes = Array(policy.serviceUnit.utf8)
        programBytes = Array(policy.program.utf8)
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
        location = unknown
        sensor = 0
        wearer = 0
        hostname = 0
        machineID = 0
        noteKind = 0
        noteText = 0
        noteLocation = nil
    }

    mutating func field(_ f: UnsafeRawBufferPointer) {
        guard let base = f.baseAddress, let at = memchr(base, Int32(UInt8(ascii: "=")), f.count) else {
            return
        }
        let eq = base.distance(to: UnsafeRawPointer(at))
        let name = UnsafeRawBufferPointer(rebasing: f[0..<eq])
        let value = UnsafeRawBufferPointer(rebasing: f[(eq + 1)...])
        guard let first = name.first else { return }
        if first == UInt8(ascii: "_") {
            if name.is("_SYSTEMD_UNIT") {
                unit = value.is(serviceUnitBytes)
            } else if name.is("_COMM") {
                comm = value.is(programBytes)
            } else if name.is("_UID") {
                uid = Int(value.integer ?? -1)
            } else if name.is("_HOSTNAME") {
                hostname = number(value, Slot.hostname)
            } else if name.is("_MACHINE_ID") {
                machineID = number(value, Slot.machineID)
            }
            return
        }
        if name.is("MESSAGE_ID") {
            if value.is("e1a046b8355640d8bf66367ef4914329") {
                kind = .twitch
            } else if value.is("07cc454edfa24dcead5a9b11faa154fb") {
                kind = .exposure
            } else if value.is("af031bbaa21147288fe49214982afefe") {
                kind = .note
            }
            return
        }
        guard name.count > 7, first == UInt8(ascii: "T"),
            UnsafeRawBufferPointer(rebasing: name[0..<7]).is("TWITCH_")
        else { return }
        let key = UnsafeRawBufferPointer(rebasing: name[7...])
        switch key.count {
        case 3:
            if key.is("SEQ") { seq = value.integer.flatMap { UInt64(exactly: $0) } }
        case 4:
            if key.is("NOTE") {
                noteText = number(value, Slot.noteText)
            }
        case 5:
            if key.is("GAP_S") { gap = value.decimal ?? 0 }
        case 6:
            if key.is("SENSOR") {
                sensor = number(value, Slot.sensor)
            } else if key.is("REST_S") {
                rest = value.decimal
            } else if key.is("WEARER") {
                wearer = number(value, Slot.wearer)
            }
        case 7:
            if key.is("PEAK_MG") {
                peak = value.decimal ?? 0
            } else if key.is("FREQ_HZ") {
                freq = value.decimal ?? 0
            }
        case 8:
            if key.is("LOCATION") {
                location = number(value, Slot.location)
                noteLocation = location
            } else if key.is("ACTIVE_S") {
                active = value.decimal ?? 0
            }
        case 9:
            if key.is("SIMULATED") {
                simulated = value.is("1")
            } else if key.is("NOTE_KIND") {
                noteKind = number(value, Slot.noteKind)
            }
        case 10:
            if key.is("NOT_WORN_S") { notWorn = value.decimal ?? 0 }
        case 11:
            if key.is("DURATION_MS") { duration = value.decimal ?? 0 }
        case 12:
            if key.is("SAMPLES_LOST") { lost = Int(value.integer ?? 0) }
        case 18:
            if key.is("NOTE_REALTIME_USEC") { time = value.integer }
        case 19:
            if key.is("ONSET_REALTIME_USEC") { time = value.integer }
        case 26:
            if key.is("EXPOSURE_END_REALTIME_USEC") { endTime = value.integer }
        case 28:
            if key.is("EXPOSURE_START_REALTIME_USEC") { time = value.integer }
        default:
            return
        }
    }

    /// The number of the string in `value`, a field of kind `slot`.
    mutating func number(_ value: UnsafeRawBufferPointer, _ slot: Int) -> UInt32 {
        if value.is(recent[slot].bytes) { return recent[slot].number }
        let n = strings.index(bytes: value)
        recent[slot] = (Array(value), n)
        return n
    }

    func string(_ n: UInt32) -> String {
        Int(n) < strings.list.count ? strings.list[Int(n)] : ""
    }

    mutating func end() {
        if capturing {
            if kind != .none { captured.append(raw()) }
            return
        }
        let machineNumber = wearer != 0 ? wearer : (hostname != 0 ? hostname : machineID)
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
                    timeUsec: t, kind: noteKind == 0 ? "text" : string(noteKind), text: string(noteText),
                    location: noteLocation.map(string), uid: uid, machine: string(machineNumber)))
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
        let who = machineID != 0 ? machineID : machineNumber
        if kind == .exposure || seq != nil {
            let key =
                kind == .exposure
                ? DedupKey(who: who, sensor: sensor, location: location, kind: 1, seq: seq ?? 0, time: t)
                : DedupKey(who: who, sensor: .max, location: .max, kind: 0, seq: seq ?? 0, time: t)
            if !seen.insert(key) {
                data.duplicates += 1
                return
            }
        }
        if kind == .twitch {
            guard t >= sinceUsec, t < untilUsec else { return }
            data.twitches.append(
                TwitchRecord(
                    timeUsec: t, location: string(location), sensor: string(sensor), peakMg: peak,
                    frequencyHz: freq, durationMs: duration, machine: string(machineNumber),
                    simulated: simulated
                ))
        } else {
            guard let e = endTime, let rest, e >= t, rest >= 0, active >= 0, notWorn >= 0, gap >= 0 else {
                data.malformed += 1
                return
            }
            guard e > sinceUsec, t < untilUsec else { return }
            data.exposures.append(
                ExposureRecord(
                    startUsec: t, endUsec: e, location: string(location), sensor: string(sensor), rest: rest,
                    active: active, notWorn: notWorn, gap: gap, samplesLost: lost,
                    machine: string(machineNumber),
                    simulated: simulated))
        }
    }

    /// The fields of the current entry, as the cache keeps them.
    func raw() -> RawEntry {
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
            location: location, sensor: sensor, wearer: wearer, hostname: hostname, machineID: machineID,
            noteKind: noteKind, noteText: noteText, noteLocation: noteLocation ?? 0)
    }

    /// Judges the entries of one file's record as if they had just been read.
    mutating func replay(_ record: FileRecord) {
        // The record's string numbers, as numbers here.
        var numbers = record.strings.map { strings.index($0) }
        if numbers.isEmpty { numbers = [0] }
        let count = numbers.count
        func n(_ i: UInt32) -> UInt32 { Int(i) < count ? numbers[Int(i)] : 0 }
        seen.reserve(seen.count + record.entries.count)
        for r in record.entries {
            kind = r.kind == 1 ? .twitch : (r.kind == 2 ? .exposure : .note)
            unit = r.flags & 1 != 0
            comm = r.flags & 2 != 0
            simulated = r.flags & 4 != 0
            uid = Int(r.uid)
            time = r.flags & 8 != 0 ? r.time : nil
            endTime = r.flags & 16 != 0 ? r.endTime : nil
            seq = r.flags & 32 != 0 ? r.seq : nil
            rest = r.flags & 64 != 0 ? r.rest : nil
            noteLocation = r.flags & 128 != 0 ? n(r.noteLocation) : nil
            peak = r.peak
            freq = r.freq
            duration = r.duration
            active = r.active
            notWorn = r.notWorn
            gap = r.gap
            lost = Int(truncatingIfNeeded: r.lost)
            location = n(r.location)
            sensor = n(r.sensor)
            wearer = n(r.wearer)
            hostname = n(r.hostname)
            machineID = n(r.machineID)
            noteKind = n(r.noteKind)
            noteText = n(r.noteText)
            end()
        }
    }
}

/// The keys of the entries counted so far (a set of ``EntryParser/DedupKey``): open addressing
/// with a cheap hash, as Set's seeded hashing of half a million keys was a tenth of a report.
struct DedupSet {
    /// The keys, in order of insertion.
    private var keys: [EntryParser.DedupKey] = []
    /// Per slot: 0 when empty, else the key's index + 1 (low 32 bits) and the top of its hash
    /// (high 32 bits), so that a probe rarely touches `keys`. Twice as many slots as keys at most.
    private var slots = [UInt64](repeating: 0, count: 16)

    var count: Int { keys.count }

    /// Makes room for `n` keys without growing.
    mutating func reserve(_ n: Int) {
        var size = slots.count
        while size < 2 * n { size *= 2 }
        if size > slots.count { rehash(size) }
    }

    /// Adds `key`; false when it was there already.
    mutating func insert(_ key: EntryParser.DedupKey) -> Bool {
        if 2 * (keys.count + 1) > slots.count { rehash(slots.count * 2) }
        let h = Self.hash(key)
        let tag = h & 0xFFFF_FFFF_0000_0000
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] != 0 {
            let slot = slots[i]
            if slot & 0xFFFF_FFFF_0000_0000 == tag && keys[Int(slot & 0xFFFF_FFFF) - 1] == key {
                return false
            }
            i = (i + 1) & mask
        }
        keys.append(key)
        slots[i] = tag | UInt64(keys.count)
        return true
    }

    private mutating func rehash(_ size: Int) {
        slots = [UInt64](repeating: 0, count: size)
        let mask = size - 1
        for (n, key) in keys.enumerated() {
            let h = Self.hash(key)
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = h & 0xFFFF_FFFF_0000_0000 | UInt64(n + 1)
        }
    }

    private static func hash(_ k: EntryParser.DedupKey) -> UInt64 {
        var h = UInt64(k.who) | UInt64(k.kind) << 32
        h = (h ^ UInt64(k.sensor) << 7 ^ UInt64(k.location) << 29) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ k.seq ^ h >> 31) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ UInt64(bitPattern: k.time) ^ h >> 27) &* 0x94D0_49BB_1331_11EB
        return h ^ h >> 31
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes are `s`.
    @inline(__always)
    func `is`(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard n == count else { return false }
        guard n > 0, let base = baseAddress else { return true }
        return memcmp(base, s.utf8Start, n) == 0
    }

    /// Whether these bytes are `bytes`.
    @inline(__always)
    func `is`(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == count else { return false }
        guard count > 0, let base = baseAddress else { return true }
        return bytes.withUnsafeBytes { b in
            guard let other = b.baseAddress else { return false }
            return memcmp(base, other, count) == 0
        }
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

/// A thread's work, handed through pthread_create.
private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Runs `body` on a new thread (to be joined); nil when none can be started.
private func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, nil,
        { raw in
            guard let raw else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box)
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(box).release()
        return nil
    }
    return thread
}
