internal import CZlib

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A stream of bytes read in chunks: a file, or one member of a zip archive inflated on the fly.
protocol ByteSource: AnyObject {
    /// Reads up to `count` bytes into `buffer`; returns how many, 0 only at the end.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TraceError) -> Int
}

/// An open file descriptor that closes itself.
final class FileHandle {
    let fd: Int32
    let path: String
    /// Size in bytes (from fstat).
    let size: Int

    init(path: String) throws(TraceError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw TraceError(.noInput, path: path, "cannot open: \(LineInput.errnoText())") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw TraceError(.noInput, path: path, "cannot open: \(LineInput.errnoText())")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw TraceError(.noInput, path: path, "is a directory, not a trace file")
        }
        self.fd = fd
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset` unless the file ends first; returns how many.
    func read(at offset: Int, into buffer: UnsafeMutableRawPointer, count: Int) throws(TraceError) -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw TraceError(.io, path: path, "read failed: \(LineInput.errnoText())")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// `count` bytes at `offset` as an array (for small headers and directories only).
    func bytes(at offset: Int, count: Int) throws(TraceError) -> [UInt8] {
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        var failure: TraceError? = nil
        out.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            do throws(TraceError) { got = try read(at: offset, into: base, count: count) } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        if got < count { out.removeLast(count - got) }
        return out
    }
}

@inline(__always)
func le16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }

@inline(__always)
func le32(_ b: [UInt8], _ i: Int) -> Int { le16(b, i) | le16(b, i + 2) << 16 }

/// A zip archive's directory, read from the end of the file (no member is read until asked).
///
/// Handles the two methods zip writers use for these exports, stored (0) and deflate (8), and
/// checks every member's CRC-32 as it is read. Zip64 archives (over 4 GiB) are refused.
final class ZipArchive {
    struct Entry {
        var name: String
        var method: Int
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var headerOffset: Int
    }

    let file: FileHandle
    let entries: [Entry]

    /// True when the file starts like a zip archive (a local file header).
    static func looksLikeZip(_ head: [UInt8]) -> Bool {
        head.count >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 3 && head[3] == 4
    }

    init(file: FileHandle) throws(TraceError) {
        self.file = file
        let path = file.path
        let tailLength = min(file.size, 22 + 65535)
        let tail = try file.bytes(at: file.size - tailLength, count: tailLength)
        var eocd: Int? = nil
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 5, tail[i + 3] == 6 {
                eocd = i
                break
            }
            i -= 1
        }
        guard let e = eocd else {
            throw TraceError(
                .truncated, path: path, "zip archive has no end-of-directory record (truncated?)")
        }
        let count = le16(tail, e + 10)
        let directorySize = le32(tail, e + 12)
        let directoryOffset = le32(tail, e + 16)
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw TraceError(.badCell, path: path, "zip64 archives are not supported")
        }
        guard directoryOffset + directorySize <= file.size, directorySize <= 16 << 20 else {
            throw TraceError(.truncated, path: path, "zip directory lies outside the file (truncated?)")
        }
        let dir = try file.bytes(at: directoryOffset, count: directorySize)
        var list: [Entry] = []
        var p = 0
        for _ in 0..<count {
            guard p + 46 <= dir.count, le32(dir, p) == 0x0201_4B50 else {
                throw TraceError(.truncated, path: path, "zip directory entry \(list.count + 1) is damaged")
            }
            let nameLength = le16(dir, p + 28)
            let extra = le16(dir, p + 30)
            let comment = le16(dir, p + 32)
            guard p + 46 + nameLength <= dir.count else {
                throw TraceError(.truncated, path: path, "zip directory entry \(list.count + 1) is damaged")
            }
            let name = String(decoding: dir[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            list.append(
                Entry(
                    name: name, method: le16(dir, p + 10), crc: UInt32(truncatingIfNeeded: le32(dir, p + 16)),
                    compressedSize: le32(dir, p + 20), size: le32(dir, p + 24),
                    headerOffset: le32(dir, p + 42)))
            p += 46 + nameLength + extra + comment
        }
        entries = list
    }

    /// The entry called `name` (exactly, or ignoring case).
    func entry(_ name: String) -> Entry? {
        entries.first { $0.name == name } ?? entries.first { $0.name.lowercased() == name.lowercased() }
    }

    /// A stream of the entry's uncompressed bytes.
    func open(_ entry: Entry) throws(TraceError) -> ZipEntrySource {
        let path = file.path + ":" + entry.name
        let local = try file.bytes(at: entry.headerOffset, count: 30)
        guard local.count == 30, le32(local, 0) == 0x0403_4B50 else {
            throw TraceError(.truncated, path: path, "zip member header missing (damaged archive)")
        }
        let dataOffset = entry.headerOffset + 30 + le16(local, 26) + le16(local, 28)
        guard entry.method == 0 || entry.method == 8 else {
            throw TraceError(.badCell, path: path, "zip compression method \(entry.method) is not supported")
        }
        guard dataOffset + entry.compressedSize <= file.size else {
            throw TraceError(.truncated, path: path, "zip member runs past the end of the file (truncated?)")
        }
        return try ZipEntrySource(file: file, entry: entry, offset: dataOffset, path: path)
    }
}

/// One zip member's bytes: stored ones copied, deflated ones inflated through zlib in chunks.
final class ZipEntrySource: ByteSource {
    let file: FileHandle
    let entry: ZipArchive.Entry
    let path: String
    private var position: Int
    private var remaining: Int
    private var produced = 0
    private var crc: UInt = 0
    private var stream = z_stream()
    private var inflating = false
    private var finished = false
    private let input: UnsafeMutablePointer<UInt8>
    private let inputCapacity = 1 << 16

    init(file: FileHandle, entry: ZipArchive.Entry, offset: Int, path: String) throws(TraceError) {
        self.file = file
        self.entry = entry
        self.path = path
        position = offset
        remaining = entry.compressedSize
        input = .allocate(capacity: inputCapacity)
        crc = crc32(0, nil, 0)
        if entry.method == 8 {
            let status = inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                input.deallocate()
                throw TraceError(.io, path: path, "zlib could not start (\(status))")
            }
            inflating = true
        }
    }

    deinit {
        if inflating { inflateEnd(&stream) }
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TraceError) -> Int {
        if finished || count == 0 { return 0 }
        var n = 0
        if entry.method == 0 {
            let want = min(count, remaining)
            n = try file.read(at: position, into: buffer, count: want)
            position += n
            remaining -= n
            if n < want { throw TraceError(.truncated, path: path, "zip member ends early (truncated?)") }
        } else {
            stream.next_out = buffer.assumingMemoryBound(to: UInt8.self)
            stream.avail_out = UInt32(min(count, Int(UInt32.max)))
            while stream.avail_out > 0 {
                if stream.avail_in == 0, remaining > 0 {
                    let want = min(inputCapacity, remaining)
                    let got = try file.read(at: position, into: input, count: want)
                    if got < want {
                        throw TraceError(.truncated, path: path, "zip member ends early (truncated?)")
                    }
                    position += got
                    remaining -= got
                    stream.next_in = input
                    stream.avail_in = UInt32(got)
                }
                let status = inflate(&stream, Z_NO_FLUSH)
                if status == Z_STREAM_END { break }
                if status == Z_BUF_ERROR, remaining == 0, stream.avail_in == 0 {
                    throw TraceError(.truncated, path: path, "deflate stream ends early (truncated?)")
                }
                if status != Z_OK && status != Z_BUF_ERROR {
                    throw TraceError(.truncated, path: path, "corrupt deflate data (zlib \(status))")
                }
            }
            n = count - Int(stream.avail_out)
        }
        if n > 0 {
            crc = crc32(crc, buffer.assumingMemoryBound(to: UInt8.self), UInt32(n))
            produced += n
        }
        let atEnd = entry.method == 0 ? remaining == 0 : (n < count)
        if atEnd || n == 0 {
            finished = true
            if produced != entry.size || UInt32(truncatingIfNeeded: crc) != entry.crc {
                throw TraceError(
                    .truncated, path: path,
                    "zip member is damaged: \(produced) bytes with CRC \(String(crc, radix: 16)), the directory says \(entry.size) bytes with CRC \(String(entry.crc, radix: 16))"
                )
            }
        }
        return n
    }
}

/// Reads a ``ByteSource`` in fixed-size records through one buffer (for binary formats).
final class ByteReader {
    let source: any ByteSource
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var start = 0
    private var end = 0
    private var atEnd = false
    /// Bytes handed out so far (the offset of the next byte in the stream).
    private(set) var offset = 0

    init(source: any ByteSource, capacity: Int = 1 << 17) {
        self.source = source
        self.capacity = capacity
        buffer = .allocate(capacity: capacity)
    }

    deinit { buffer.deallocate() }

    /// A pointer to the next `count` bytes (valid until the next call), or nil when fewer remain.
    /// `count` must not exceed the buffer's capacity.
    @inline(__always)
    func take(_ count: Int) throws(TraceError) -> UnsafePointer<UInt8>? {
        if end - start < count {
            try refill(count)
            if end - start < count { return nil }
        }
        let p = buffer + start
        start += count
        offset += count
        return UnsafePointer(p)
    }

    /// Bytes left in the buffer after a short `take` (a truncated last record).
    var leftover: Int { end - start }

    /// True when the bytes left after a short `take` are all zero (padding, not a record).
    func leftoverIsZero() -> Bool {
        for i in start..<end where buffer[i] != 0 { return false }
        return true
    }

    /// Gives back the last `count` bytes of the previous `take`.
    func unread(_ count: Int) {
        start -= count
        offset -= count
    }

    private func refill(_ need: Int) throws(TraceError) {
        if start > 0 {
            let tail = end - start
            if tail > 0 { memmove(buffer, buffer + start, tail) }
            start = 0
            end = tail
        }
        while end < need, !atEnd {
            let n = try source.read(into: UnsafeMutableRawPointer(buffer + end), count: capacity - end)
            if n == 0 { atEnd = true } else { end += n }
        }
    }
}

/// A plain file as a ``ByteSource`` (sequential reads).
final class FileSource: ByteSource {
    let file: FileHandle
    private var position: Int

    init(file: FileHandle, offset: Int = 0) {
        self.file = file
        position = offset
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TraceError) -> Int {
        let n = try file.read(at: position, into: buffer, count: count)
        position += n
        return n
    }
}
