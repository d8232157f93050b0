internal import CZlib

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file read line by line through zlib, which passes plain files through unchanged and
/// decompresses gzip (including concatenated members). One fixed buffer; lines are handed out as
/// pointers into it, valid until the next call.
final class LineInput {
    let path: String
    private var gz: gzFile?
    /// Where bytes come from instead of `gz` (a member of a zip archive), when set.
    private var source: (any ByteSource)?
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// True once the first read showed the file is gzip-compressed.
    private(set) var compressed = false

    init(path: String, capacity: Int = 1 << 18) throws(TraceError) {
        self.path = path
        self.capacity = capacity
        // `-` is standard input (plain or gzip, like any file).
        let fd = path == "-" ? dup(0) : open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw TraceError(.noInput, path: path, "cannot open: \(LineInput.errnoText())")
        }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw TraceError(.noInput, path: path, "is a directory, not a trace file")
        }
        guard let g = gzdopen(fd, "rb") else {
            close(fd)
            throw TraceError(.noInput, path: path, "cannot open: \(LineInput.errnoText())")
        }
        gzbuffer(g, 1 << 17)
        gz = g
        buffer = .allocate(capacity: capacity)
    }

    /// Lines from `source` (already decompressed) instead of a file; `path` names it in errors.
    init(path: String, source: any ByteSource, capacity: Int = 1 << 18) {
        self.path = path
        self.capacity = capacity
        self.source = source
        compressed = true
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        if let gz { gzclose_r(gz) }
        buffer.deallocate()
    }

    static func errnoText() -> String {
        guard let s = strerror(errno) else { return "error \(errno)" }
        return String(cString: s)
    }

    /// Refills the buffer after moving the unread tail to the front. Returns false at the end.
    private func fill() throws(TraceError) -> Bool {
        if atEOF { return false }
        if start > 0 {
            let tail = end - start
            if tail > 0 { memmove(buffer, buffer + start, tail) }
            start = 0
            end = tail
        }
        if let source {
            guard end < capacity else { return false }
            let n = try source.read(into: UnsafeMutableRawPointer(buffer + end), count: capacity - end)
            if n == 0 {
                atEOF = true
                return false
            }
            end += n
            return true
        }
        guard end < capacity, let gz else { return false }
        let n = gzread(gz, buffer + end, UInt32(capacity - end))
        if lineNumber == 0, end == 0, n > 0 { compressed = gzdirect(gz) == 0 }
        if n < 0 {
            var code: Int32 = 0
            let text = gzerror(gz, &code).map { String(cString: $0) } ?? "read error"
            if code == Z_ERRNO {
                throw TraceError(
                    .io, path: path, line: lineNumber + 1, "read failed: \(LineInput.errnoText())")
            }
            throw TraceError(
                .truncated, path: path, line: lineNumber + 1, "corrupt gzip data (\(text))")
        }
        if n == 0 {
            atEOF = true
            var code: Int32 = 0
            _ = gzerror(gz, &code)
            if code == Z_BUF_ERROR {
                throw TraceError(
                    .truncated, path: path, line: lineNumber + 1,
                    "gzip stream ends early (truncated file?); samples up to line \(lineNumber) were read")
            }
            if code != Z_OK {
                throw TraceError(.truncated, path: path, line: lineNumber + 1, "corrupt gzip data")
            }
            return false
        }
        end += Int(n)
        return true
    }

    /// The next line without its line terminator, or nil at the end of the file.
    @inline(__always)
    func nextLine() throws(TraceError) -> UnsafeBufferPointer<UInt8>? {
        while true {
            let avail = end - start
            if avail > 0, let nl = memchr(buffer + start, 10, avail) {
                let p = nl.assumingMemoryBound(to: UInt8.self)
                let lineStart = buffer + start
                var len = p - lineStart
                start += len + 1
                lineNumber += 1
                if len > 0, lineStart[len - 1] == 13 { len -= 1 }
                return UnsafeBufferPointer(start: lineStart, count: len)
            }
            if avail >= capacity {
                throw TraceError(
                    .lineTooLong, path: path, line: lineNumber + 1,
                    "line longer than \(capacity) bytes; this is not a trace file")
            }
            if try !fill() {
                let rest = end - start
                if rest == 0 { return nil }
                let lineStart = buffer + start
                start = end
                lineNumber += 1
                var len = rest
                if lineStart[len - 1] == 13 { len -= 1 }
                return UnsafeBufferPointer(start: lineStart, count: len)
            }
        }
    }
}
