// The spool: where entries wait, in order, while journald is missing or restarting.
//
// File format (`journal.spool` in the state directory), append-only:
//   record = 'T' 'J' + payload length (u32 LE) + CRC-32 of the payload (u32 LE) + payload
// where the payload is the entry in the native protocol. `journal.spool.pos` holds the offset
// (u64 LE) of the first record not yet delivered. When the spool is opened, damage (a torn record
// at the end after a crash mid-write, or bytes overwritten in the middle) is skipped: recovery
// resynchronises on the next record whose header and CRC check out, keeps every intact record,
// rewrites the file without the damage, and reports what was lost (``SpoolRecovery``); the
// journal writer then records it as its own entry (`MESSAGE_ID` spool damaged). Delivery is at
// least once: a crash between sending an entry and recording the new offset sends that entry
// again after restart. Every file is opened with O_NOFOLLOW: a planted symlink is refused.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Storage for undelivered entries, oldest first.
protocol Spool: AnyObject {
    var pendingEntries: Int { get }
    var pendingBytes: Int { get }
    /// Appends one encoded entry. Throws on I/O failure.
    func append(_ payload: [UInt8]) throws(SystemError)
    /// The oldest undelivered entry, nil when empty.
    func peek() -> [UInt8]?
    /// Marks the oldest entry delivered.
    func removeFirst()
    /// Makes appended data durable (fdatasync) when there is something to sync.
    func sync()
    /// For syncing without holding the writer's lock: duplicates of the descriptors that need an
    /// fdatasync (the caller syncs and closes them), or none if nothing changed since last time.
    func takeDescriptorsToSync() -> [Int32]
    /// Bytes the spool occupies (for the size limit); can exceed `pendingBytes` until compacted.
    var storageBytes: Int { get }
    /// Drops the space of delivered entries.
    func compact()
    func closeFiles()
}

/// An in-memory spool (no state directory; lost when the process exits).
final class MemorySpool: Spool {
    private var items: [[UInt8]] = []
    private var head = 0
    private(set) var pendingBytes = 0

    var pendingEntries: Int { items.count - head }

    func append(_ payload: [UInt8]) throws(SystemError) {
        items.append(payload)
        pendingBytes += payload.count + FileSpool.recordHeaderSize
    }

    func peek() -> [UInt8]? { head < items.count ? items[head] : nil }

    func removeFirst() {
        guard head < items.count else { return }
        pendingBytes -= items[head].count + FileSpool.recordHeaderSize
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: false)
            head = 0
        } else if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }

    func sync() {}
    func takeDescriptorsToSync() -> [Int32] { [] }
    var storageBytes: Int { pendingBytes }
    func compact() {}
    func closeFiles() {}
}

/// Recovery of a spool file's records: which are intact, and what is damaged in between.
///
/// A pure function of the bytes (also what the fuzz target drives): it never traps, whatever the
/// input, and its work is linear in the input's size times the largest record it checks.
public enum SpoolRecovery {
    /// One record: where its payload starts and how long it is.
    public struct Record: Equatable, Sendable {
        public var offset: Int
        public var length: Int
    }

    /// What a scan found.
    public struct Scan: Equatable, Sendable {
        /// The intact records, in file order.
        public var records: [Record] = []
        /// Damaged byte ranges (start, length), in file order.
        public var damaged: [(start: Int, length: Int)] = []
        /// Bytes in damaged ranges.
        public var damagedBytes: Int { damaged.reduce(0) { $0 + $1.length } }

        public static func == (a: Scan, b: Scan) -> Bool {
            a.records == b.records && a.damaged.map(\.start) == b.damaged.map(\.start)
                && a.damaged.map(\.length) == b.damaged.map(\.length)
        }
    }

    /// Largest payload a record may claim (journald's own limit for an entry is far below).
    public static let maxRecordLength = 64 << 20

    /// Scans `bytes` from `start`: each record must have the `TJ` magic, a length that fits, and a
    /// matching CRC-32. After damage, scanning resumes at the next offset where such a record
    /// begins.
    public static func scan(_ bytes: [UInt8], from start: Int = 0) -> Scan {
        var result = Scan()
        var offset = max(0, min(start, bytes.count))
        var damageStart: Int?
        while offset < bytes.count {
            if let length = recordLength(bytes, at: offset) {
                if let d = damageStart {
                    result.damaged.append((d, offset - d))
                    damageStart = nil
                }
                result.records.append(Record(offset: offset + FileSpool.recordHeaderSize, length: length))
                offset += FileSpool.recordHeaderSize + length
            } else {
                if damageStart == nil { damageStart = offset }
                // Resynchronise: the next possible record start is the next 'T' followed by 'J'.
                offset += 1
                while offset < bytes.count && bytes[offset] != UInt8(ascii: "T") { offset += 1 }
            }
        }
        if let d = damageStart { result.damaged.append((d, bytes.count - d)) }
        return result
    }

    /// The payload length of a valid record at `offset`, or nil.
    static func recordLength(_ bytes: [UInt8], at offset: Int) -> Int? {
        let h = FileSpool.recordHeaderSize
        guard offset >= 0, bytes.count - offset >= h, bytes[offset] == UInt8(ascii: "T"),
            bytes[offset + 1] == UInt8(ascii: "J")
        else { return nil }
        let length = Int(clamping: readLittleEndian32(bytes, at: offset + 2))
        guard length <= maxRecordLength, length <= bytes.count - offset - h else { return nil }
        let payload = bytes[(offset + h)..<(offset + h + length)]
        return crc32(payload) == readLittleEndian32(bytes, at: offset + 6) ? length : nil
    }
}

/// The on-disk spool in a state directory (see the file comment for the format).
final class FileSpool: Spool {
    static let recordHeaderSize = 10
    static let fileName = "journal.spool"

    let path: String
    private var fd: Int32
    private let positionFD: Int32
    /// Offset of the first undelivered record.
    private var readOffset: Int64 = 0
    /// End of the last complete record (where the next append goes).
    private var endOffset: Int64 = 0
    private var dirty = false
    private(set) var pendingEntries = 0
    /// What recovery found damaged when the spool was opened (nil: nothing).
    private(set) var damageFound: SpoolDamage?
    var pendingBytes: Int { Int(endOffset - readOffset) }

    /// Opens (creating if needed) the spool `fileName` in `directory` (its position beside it,
    /// `fileName.pos`), keeping what an earlier run left.
    init(directory: String, fileName: String = FileSpool.fileName) throws(SystemError) {
        path = directory + "/" + fileName
        let posPath = path + ".pos"
        let flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW
        fd = open(path, flags, 0o600)
        guard fd >= 0 else { throw SystemError(errno, "open \(path)") }
        positionFD = open(posPath, flags, 0o600)
        guard positionFD >= 0 else {
            let e = errno
            close(fd)
            throw SystemError(e, "open \(posPath)")
        }
        // One writer per spool: a second twitchd on the same state directory would interleave
        // records.
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            close(fd)
            close(positionFD)
            throw SystemError(
                e, "lock \(path) (is another twitchd using the state directory \(directory)?)")
        }
        try recover()
    }

    /// Reads the saved position and scans the records after it; skips damage, keeping every
    /// intact record, and rewrites the file without it.
    private func recover() throws(SystemError) {
        if let pos = preadAll(positionFD, count: 8, offset: 0), pos.count == 8 {
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(pos[i]) << UInt64(8 * i) }
            readOffset = Int64(clamping: v)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError(errno, "fstat \(path)") }
        let size = Int64(st.st_size)
        if readOffset > size || readOffset < 0 { readOffset = 0 }
        guard size > readOffset else {
            endOffset = size
            pendingEntries = 0
            resetIfEmpty()
            return
        }
        guard let restCount = Int(exactly: size - readOffset) else {
            throw SystemError(EFBIG, "read \(path)")
        }
        guard let rest = preadAll(fd, count: restCount, offset: readOffset), rest.count == restCount
        else { throw SystemError(errno == 0 ? EIO : errno, "read \(path)") }
        let scan = SpoolRecovery.scan(rest)
        pendingEntries = scan.records.count
        endOffset = size
        guard !scan.damaged.isEmpty else {
            if pendingEntries == 0 { resetIfEmpty() }
            return
        }
        let damage = SpoolDamage(
            bytes: scan.damagedBytes, regions: scan.damaged.count, kept: scan.records.count,
            firstOffset: readOffset + Int64(scan.damaged[0].start))
        damageFound = damage
        writeStderr("twitchd journal: spool \(path): \(damage.description)")
        // Keep only the intact records, in order: rewrite them into a fresh file.
        var clean: [UInt8] = []
        clean.reserveCapacity(rest.count - scan.damagedBytes)
        for r in scan.records {
            clean.append(contentsOf: rest[(r.offset - Self.recordHeaderSize)..<(r.offset + r.length)])
        }
        try replaceFile(with: clean)
        if pendingEntries == 0 { resetIfEmpty() }
    }

    /// Writes `bytes` to a new file, syncs it, and renames it over the spool; the read position
    /// becomes 0.
    private func replaceFile(with bytes: [UInt8]) throws(SystemError) {
        let tmp = path + ".new"
        let newFD = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard newFD >= 0 else { throw SystemError(errno, "open \(tmp)") }
        _ = flock(newFD, LOCK_EX | LOCK_NB)
        if let e = writeAll(newFD, bytes[...]) {
            close(newFD)
            unlink(tmp)
            throw SystemError(e, "write \(tmp)")
        }
        guard fdatasync(newFD) == 0 else {
            let e = errno
            close(newFD)
            unlink(tmp)
            throw SystemError(e, "fdatasync \(tmp)")
        }
        readOffset = 0
        savePosition()
        guard rename(tmp, path) == 0 else {
            let e = errno
            close(newFD)
            unlink(tmp)
            throw SystemError(e, "rename \(tmp)")
        }
        close(fd)
        fd = newFD
        endOffset = Int64(bytes.count)
    }

    func append(_ payload: [UInt8]) throws(SystemError) {
        var record: [UInt8] = [UInt8(ascii: "T"), UInt8(ascii: "J")]
        record.reserveCapacity(payload.count + Self.recordHeaderSize)
        appendLittleEndian32(UInt32(payload.count), to: &record)
        appendLittleEndian32(crc32(payload), to: &record)
        record.append(contentsOf: payload)
        if let e = pwriteAll(record, at: endOffset) {
            // Do not leave half a record behind.
            _ = ftruncate(fd, off_t(endOffset))
            throw SystemError(e, "write \(path)")
        }
        endOffset += Int64(record.count)
        pendingEntries += 1
        dirty = true
    }

    func peek() -> [UInt8]? {
        guard pendingEntries > 0,
            let header = preadAll(fd, count: Self.recordHeaderSize, offset: readOffset),
            header.count == Self.recordHeaderSize
        else { return nil }
        let length = Int(readLittleEndian32(header, at: 2))
        return preadAll(fd, count: length, offset: readOffset + Int64(Self.recordHeaderSize))
    }

    func removeFirst() {
        guard pendingEntries > 0,
            let header = preadAll(fd, count: Self.recordHeaderSize, offset: readOffset),
            header.count == Self.recordHeaderSize
        else { return }
        readOffset += Int64(Self.recordHeaderSize) + Int64(readLittleEndian32(header, at: 2))
        pendingEntries -= 1
        if pendingEntries == 0 {
            resetIfEmpty()
        } else {
            savePosition()
        }
    }

    /// When everything is delivered, empties the file so it never grows without bound.
    private func resetIfEmpty() {
        _ = ftruncate(fd, 0)
        readOffset = 0
        endOffset = 0
        savePosition()
    }

    private func savePosition() {
        var bytes: [UInt8] = []
        appendLittleEndian64(UInt64(readOffset), to: &bytes)
        _ = bytes.withUnsafeBytes { pwrite(positionFD, $0.baseAddress, 8, 0) }
    }

    private func pwriteAll(_ bytes: [UInt8], at offset: Int64) -> Int32? {
        bytes.withUnsafeBytes { raw -> Int32? in
            var off = 0
            while off < raw.count {
                let n = pwrite(
                    fd, raw.baseAddress.map { $0 + off }, raw.count - off, off_t(offset) + off_t(off))
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { return EIO }
                off += n
            }
            return nil
        }
    }

    var storageBytes: Int { Int(endOffset) }

    /// Rewrites the undelivered records into a fresh file (written, synced, then renamed over the
    /// old one, so a crash leaves either the old or the new spool, never a mix).
    func compact() {
        guard readOffset > 0, pendingEntries > 0 else { return }
        guard let rest = preadAll(fd, count: Int(endOffset - readOffset), offset: readOffset),
            rest.count == Int(endOffset - readOffset)
        else { return }
        let tmp = path + ".new"
        let newFD = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard newFD >= 0 else { return }
        _ = flock(newFD, LOCK_EX | LOCK_NB)
        guard writeAll(newFD, rest[...]) == nil, fdatasync(newFD) == 0 else {
            close(newFD)
            unlink(tmp)
            return
        }
        // Point the position at 0 before the rename: if we crash in between, the old file is
        // replayed from its start (duplicates, never losses).
        let oldRead = readOffset
        readOffset = 0
        savePosition()
        guard rename(tmp, path) == 0 else {
            readOffset = oldRead
            savePosition()
            close(newFD)
            unlink(tmp)
            return
        }
        close(fd)
        fd = newFD
        endOffset = Int64(rest.count)
        dirty = true
    }

    func sync() {
        guard dirty else { return }
        dirty = false
        _ = fdatasync(fd)
        _ = fdatasync(positionFD)
    }

    func takeDescriptorsToSync() -> [Int32] {
        guard dirty else { return [] }
        dirty = false
        return [dup(fd), dup(positionFD)].filter { $0 >= 0 }
    }

    func closeFiles() {
        sync()
        close(fd)
        close(positionFD)
    }
}

private let crcTable: [UInt32] = (0..<256).map { i -> UInt32 in
    var c = UInt32(i)
    for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

/// What spool recovery had to discard.
public struct SpoolDamage: Equatable, Sendable, CustomStringConvertible {
    /// Bytes discarded.
    public var bytes: Int
    /// Separate damaged ranges.
    public var regions: Int
    /// Intact entries kept (delivered as usual).
    public var kept: Int
    /// File offset of the first damaged byte.
    public var firstOffset: Int64

    public var description: String {
        "discarded \(bytes) damaged bytes in \(regions) place\(regions == 1 ? "" : "s") (first at offset "
            + "\(firstOffset)); \(kept) intact entries kept; entries written there are lost"
    }
}

/// CRC-32 (IEEE 802.3, as zlib computes it).
func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
}
