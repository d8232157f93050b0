// A cache of what was read from each journal file, so that a year of entries is read from the
// journal once: archived journal files never change, and the active one is read on from where
// the last report stopped (its cursor). Reading through sd-journal costs about 4 us of CPU per
// entry (BENCHMARKS.md, "Report over a year of one wearer"), so a year takes 2-2.5 s of CPU spread
// over the cores; the cache brings it back in a fraction of a second.
//
// One file per journal file in $XDG_CACHE_HOME/twitchd/report (else ~/.cache/twitchd/report),
// private to the user (0700/0600). The cache holds every twitchd entry's fields as read, before
// any trust rule, so changing --simulated or --trust-uid needs no new read. Anything unexpected
// (another format, a journal file replaced, a cursor that no longer matches) means reading that
// file again.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The fields of one twitchd entry as read (strings as indices into a ``StringTable``).
struct RawEntry {
    var kind: UInt8
    var flags: UInt16
    var uid: Int32
    var time: Int64
    var endTime: Int64
    var seq: UInt64
    var peak: Double
    var freq: Double
    var duration: Double
    var rest: Double
    var active: Double
    var notWorn: Double
    var gap: Double
    var lost: Int64
    var location: UInt32
    var sensor: UInt32
    var wearer: UInt32
    var hostname: UInt32
    var machineID: UInt32
    var noteKind: UInt32
    var noteText: UInt32
    var noteLocation: UInt32
}

/// Strings numbered in order of first appearance. Equal strings have one number, however their
/// bytes were spelled (invalid UTF-8 is repaired the same way each time), so a number can stand
/// for its string when entries are compared.
struct StringTable {
    private(set) var list: [String] = [""]
    private var numbers: [String: UInt32] = ["": 0]
    /// Spellings seen, by a hash of their bytes: looked up without building a String.
    private var spellings: [Int: [(bytes: [UInt8], number: UInt32)]] = [:]

    init() {}

    /// A table numbering `list` as it stands (a cache file's table: its entries refer to these
    /// positions). Equal strings later in `list` keep their positions but are not looked up.
    init(list: [String]) {
        guard !list.isEmpty else { return }
        self.list = list
        numbers = [:]
        for (i, s) in list.enumerated() where numbers[s] == nil { numbers[s] = UInt32(i) }
    }

    mutating func index(_ s: String) -> UInt32 {
        if let i = numbers[s] { return i }
        let i = UInt32(list.count)
        list.append(s)
        numbers[s] = i
        return i
    }

    /// The number of the string these bytes decode to.
    mutating func index(bytes b: UnsafeRawBufferPointer) -> UInt32 {
        var h = 0xcbf2_9ce4_8422_2325 as UInt64
        for byte in b {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        let key = Int(truncatingIfNeeded: h)
        if let bucket = spellings[key] {
            for s in bucket where s.bytes.elementsEqual(b) { return s.number }
        }
        let i = index(String(decoding: b, as: UTF8.self))
        spellings[key, default: []].append((Array(b), i))
        return i
    }
}

/// What was read from one journal file.
struct FileRecord {
    var cursor: String
    var strings: [String]
    var entries: [RawEntry]
}

enum ReportCache {
    static let magic = Array("twitchd-report-cache\n".utf8)
    static let version: UInt32 = 1

    /// The cache directory, created private if needed; nil when there is none to use.
    static func directory() -> String? {
        var base: String
        if let x = getenv("XDG_CACHE_HOME"), x.pointee != 0 {
            base = String(cString: x)
        } else if let h = getenv("HOME"), h.pointee != 0 {
            base = String(cString: h) + "/.cache"
        } else {
            return nil
        }
        for part in ["", "/twitchd", "/twitchd/report"] {
            if mkdir(base + part, 0o700) != 0 && errno != EEXIST { return nil }
        }
        let dir = base + "/twitchd/report"
        var st = stat()
        guard lstat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid() else {
            return nil
        }
        return dir
    }

    /// The cache file for journal file `path` (by its device and inode, and its path).
    static func key(for path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in path.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return "\(String(h, radix: 16))-\(st.st_dev)-\(st.st_ino)"
    }

    static func load(_ file: String) -> FileRecord? {
        let fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_uid == geteuid(), st.st_size > 0, st.st_size < 4 << 30 else {
            return nil
        }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = bytes.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return -1 }
                return read(fd, base + got, size - got)
            }
            if n <= 0 { return nil }
            got += n
        }
        var r = Reader(bytes: bytes)
        guard r.take(magic.count) == magic[...], r.u32() == version,
            r.u32() == UInt32(MemoryLayout<RawEntry>.stride), let cursor = r.string(),
            let stringCount = r.u32(), Int(stringCount) < size
        else { return nil }
        var strings: [String] = []
        strings.reserveCapacity(Int(stringCount))
        for _ in 0..<stringCount {
            guard let s = r.string() else { return nil }
            strings.append(s)
        }
        guard let count = r.u64(), count < UInt64(size) else { return nil }
        let n = Int(count)
        let stride = MemoryLayout<RawEntry>.stride
        guard r.offset + n * stride == size else { return nil }
        let start = r.offset
        let entries = [RawEntry](unsafeUninitializedCapacity: n) { buffer, initialized in
            initialized = 0
            bytes.withUnsafeBytes { raw in
                guard let src = raw.baseAddress, let dst = buffer.baseAddress else { return }
                memcpy(dst, src + start, n * stride)
                initialized = n
            }
        }
        guard entries.count == n else { return nil }
        return FileRecord(cursor: cursor, strings: strings, entries: entries)
    }

    static func save(_ record: FileRecord, to file: String) {
        var out = magic
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) {
            u32(UInt32(s.utf8.count))
            out += s.utf8
        }
        u32(version)
        u32(UInt32(MemoryLayout<RawEntry>.stride))
        string(record.cursor)
        u32(UInt32(record.strings.count))
        for s in record.strings { string(s) }
        u64(UInt64(record.entries.count))
        record.entries.withUnsafeBytes { out += $0 }
        let tmp = file + ".tmp\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        var done = 0
        let ok = out.withUnsafeBytes { buf -> Bool in
            guard let base = buf.baseAddress else { return false }
            while done < buf.count {
                let n = write(fd, base + done, buf.count - done)
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        close(fd)
        if ok { rename(tmp, file) } else { unlink(tmp) }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        mutating func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, offset + n <= bytes.count else { return nil }
            defer { offset += n }
            return bytes[offset..<(offset + n)]
        }
        mutating func u32() -> UInt32? {
            guard let s = take(4) else { return nil }
            return s.reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }
        mutating func u64() -> UInt64? {
            guard let s = take(8) else { return nil }
            return s.reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        mutating func string() -> String? {
            guard let n = u32(), let s = take(Int(n)) else { return nil }
            return String(decoding: s, as: UTF8.self)
        }
    }
}
