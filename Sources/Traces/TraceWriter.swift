internal import CZlib
public import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a generic CSV trace (`# key=value` lines, header `time_s,ax_g,ay_g,az_g`, one row per
/// sample with six decimals), optionally gzip-compressed.
///
/// Rows are formatted into a fixed buffer without allocation and written out only as whole lines.
/// Compressed output is written as a series of complete gzip members (one per flush), which
/// `gzip -d` and ``TraceReader`` read as one stream. Either way, a process killed at any moment
/// leaves a valid file holding every row up to the last flush: call ``flush()`` about once a
/// second when recording live (the writer also flushes by itself whenever its buffer fills).
///
/// A writer is a handle on an open file: copies share it. Use it from one thread at a time.
public struct TraceWriter {
    private let sink: WriterSink

    /// The path (or name) given at creation.
    public var path: String { sink.path }
    /// True when writing gzip.
    public var compressed: Bool { sink.compress }
    /// Rows written so far (including those still buffered).
    public var samplesWritten: Int { sink.rows }

    /// Creates (or truncates) `path` and writes the metadata lines and the header.
    ///
    /// - Parameters:
    ///   - compress: gzip or not; nil means gzip when `path` ends in `.gz`.
    ///   - decimals: digits after the point for time and acceleration (1...9; default 6: 1 µs, 1 µg).
    /// - Throws: ``TraceError`` `.cantCreate` when the file cannot be created.
    public init(
        path: String, metadata: TraceMetadata = TraceMetadata(), compress: Bool? = nil, decimals: Int = 6
    ) throws(TraceError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw TraceError(.cantCreate, path: path, "cannot create: \(LineInput.errnoText())")
        }
        try self.init(
            fileDescriptor: fd, name: path, metadata: metadata, compress: compress ?? path.hasSuffix(".gz"),
            decimals: decimals, ownsDescriptor: true)
    }

    /// Writes to an open file descriptor (e.g. 1 for standard output), which is closed by
    /// ``close()`` only when `ownsDescriptor` is true.
    public init(
        fileDescriptor: Int32, name: String, metadata: TraceMetadata = TraceMetadata(), compress: Bool,
        decimals: Int = 6, ownsDescriptor: Bool = false
    ) throws(TraceError) {
        sink = try WriterSink(
            fd: fileDescriptor, path: name, compress: compress, owns: ownsDescriptor,
            decimals: min(max(decimals, 1), 9))
        var text = ""
        for e in metadata.entries {
            let key = e.key.filter { $0 != "\n" && $0 != "\r" && $0 != "=" }
            let value = e.value.filter { $0 != "\n" && $0 != "\r" }
            text += "# \(key)=\(value)\n"
        }
        text += "time_s,ax_g,ay_g,az_g\n"
        sink.append(text)
        try sink.flush()
    }

    /// Appends one row. Allocation-free; flushes by itself when the buffer fills.
    @inline(__always)
    public mutating func write(_ sample: Sample) throws(TraceError) {
        try sink.row(sample)
    }

    /// Writes every buffered row to the file (as a complete gzip member when compressing).
    public mutating func flush() throws(TraceError) {
        try sink.flush()
    }

    /// Flushes and closes. Further writes throw.
    public mutating func close() throws(TraceError) {
        try sink.close()
    }
}

final class WriterSink {
    let path: String
    let compress: Bool
    let owns: Bool
    let decimals: Int
    let scale: Double
    private var fd: Int32
    private let text: UnsafeMutablePointer<UInt8>
    private let textCapacity = 1 << 18
    private let flushAt = (1 << 18) - 256
    private var used = 0
    private(set) var rows = 0
    private let zOut: UnsafeMutablePointer<UInt8>
    private let zOutCapacity: Int
    private var stream: UnsafeMutablePointer<z_stream>?

    init(fd: Int32, path: String, compress: Bool, owns: Bool, decimals: Int) throws(TraceError) {
        self.fd = fd
        self.path = path
        self.compress = compress
        self.owns = owns
        self.decimals = decimals
        var s = 1.0
        for _ in 0..<decimals { s *= 10 }
        scale = s
        text = .allocate(capacity: textCapacity)
        zOutCapacity = compress ? Int(compressBound(uLong(textCapacity))) + 64 : 1
        zOut = .allocate(capacity: zOutCapacity)
        if compress {
            let strm = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            strm.initialize(to: z_stream())
            let rc = deflateInit2_(
                strm, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                Int32(MemoryLayout<z_stream>.size))
            if rc != Z_OK {
                strm.deallocate()
                throw TraceError(.cantCreate, path: path, "cannot start gzip compression (zlib error \(rc))")
            }
            stream = strm
        }
    }

    deinit {
        if fd >= 0 {
            try? flush()
            if owns { _ = Glibc_close(fd) }
        }
        if let stream {
            deflateEnd(stream)
            stream.deallocate()
        }
        text.deallocate()
        zOut.deallocate()
    }

    func append(_ s: String) {
        var s = s
        s.withUTF8 { u in
            for b in u {
                if used == textCapacity { try? flush() }
                text[used] = b
                used += 1
            }
        }
    }

    @inline(__always)
    func row(_ sample: Sample) throws(TraceError) {
        if fd < 0 { throw TraceError(.io, path: path, "write after close") }
        put(sample.time)
        text[used] = 44
        used += 1
        put(sample.acceleration.x)
        text[used] = 44
        used += 1
        put(sample.acceleration.y)
        text[used] = 44
        used += 1
        put(sample.acceleration.z)
        text[used] = 10
        used += 1
        rows += 1
        if used >= flushAt { try flush() }
    }

    /// Fixed-point decimal; at most 1 + 19 + 1 + 9 bytes.
    @inline(__always)
    private func put(_ value: Double) {
        var v = value
        if !v.isFinite { v = 0 }
        let scaled = (abs(v) * scale).rounded()
        // Beyond the fixed-point range nothing is a plausible time or acceleration: clamp.
        var n = UInt64(min(scaled, 9.2e18))
        if v < 0, n != 0 {
            text[used] = 45
            used += 1
        }
        // Digits are produced backwards into a 32-byte scratch area on the stack.
        var buf: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &buf) { raw in
            var k = 32
            var produced = 0
            repeat {
                k -= 1
                raw[k] = UInt8(truncatingIfNeeded: n % 10) + 48
                n /= 10
                produced += 1
                if produced == decimals {
                    k -= 1
                    raw[k] = 46
                }
            } while n > 0 || produced <= decimals
            for q in k..<32 {
                text[used] = raw[q]
                used += 1
            }
        }
    }

    func flush() throws(TraceError) {
        guard fd >= 0, used > 0 else { return }
        if let stream {
            stream.pointee.next_in = text
            stream.pointee.avail_in = uInt(used)
            stream.pointee.next_out = zOut
            stream.pointee.avail_out = uInt(zOutCapacity)
            let rc = deflate(stream, Z_FINISH)
            guard rc == Z_STREAM_END else {
                throw TraceError(.io, path: path, "gzip compression failed (zlib error \(rc))")
            }
            let produced = zOutCapacity - Int(stream.pointee.avail_out)
            deflateReset(stream)
            try writeAll(zOut, produced)
        } else {
            try writeAll(text, used)
        }
        used = 0
    }

    private func writeAll(_ p: UnsafePointer<UInt8>, _ n: Int) throws(TraceError) {
        var done = 0
        while done < n {
            let w = Glibc_write(fd, p + done, n - done)
            if w < 0 {
                if errno == EINTR { continue }
                throw TraceError(.io, path: path, "write failed: \(LineInput.errnoText())")
            }
            done += w
        }
    }

    func close() throws(TraceError) {
        guard fd >= 0 else { return }
        try flush()
        if owns, Glibc_close(fd) != 0 {
            fd = -1
            throw TraceError(.io, path: path, "close failed: \(LineInput.errnoText())")
        }
        fd = -1
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    write(fd, p, n)
}

@inline(__always)
private func Glibc_close(_ fd: Int32) -> Int32 {
    close(fd)
}
