import TwitchCore

/// Reads an ActiGraph `.gt3x` file: a zip holding `info.txt` (serial, device, rate, scale, time
/// zone) and `log.bin`, a stream of records.
///
/// A record is `0x1E`, a type byte, a 32-bit time stamp (seconds, the device's local clock), a
/// 16-bit payload size, the payload, and a checksum (the complement of the XOR of every byte
/// before it). ACTIVITY2 records (type 0x1A) hold one second of samples as 16-bit x, y, z;
/// ACTIVITY records (type 0x00, older devices) pack them into 12 bits each in the order y, x, z.
/// Counts divided by `Acceleration Scale` are g. Seconds without a record (the device's
/// idle-sleep mode, which stops sampling while it lies still) are gaps: no samples are made up
/// for them. Records whose checksum does not match are skipped and counted.
final class ActiGraphReader: DeviceSampleSource {
    let path: String
    private let bytes: ByteReader
    private(set) var info: DeviceInfo
    let temperatureRange: ClosedRange<Double>? = nil
    private var skips: [String: Int] = [:]
    var skipped: [SkipCount] {
        skips.sorted { $0.key < $1.key }.map { SkipCount(reason: $0.key, count: $0.value) }
    }

    let scale: Double
    let rate: Double
    private var origin: Int? = nil
    private var lastTime = -Double.infinity
    private let out: UnsafeMutablePointer<Sample>
    private let outCapacity = 65536 / 4
    private var outCount = 0
    private var outNext = 0
    private var atEnd = false

    init(zip: ZipArchive) throws(TraceError) {
        path = zip.file.path
        guard let infoEntry = zip.entry("info.txt"), let logEntry = zip.entry("log.bin") else {
            throw TraceError(.unknownHeader, path: path, "a .gt3x zip needs info.txt and log.bin")
        }
        guard infoEntry.size <= 1 << 20 else {
            throw TraceError(.badMetadata, path: path, "info.txt is larger than 1 MiB: not a .gt3x")
        }
        let lines = LineInput(path: path + ":info.txt", source: try zip.open(infoEntry))
        var fields: [String: String] = [:]
        while let line = try lines.nextLine() {
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            fields[String(text[..<colon]).trimmingCharacters()] = String(
                text[text.index(after: colon)...]
            ).trimmingCharacters()
        }
        guard let rateText = fields["Sample Rate"], let r = Double(rateText), r >= 0.1, r <= 10000
        else {
            throw TraceError(
                .badMetadata, path: path + ":info.txt",
                "no usable 'Sample Rate' (got \(fields["Sample Rate"] ?? "none"))")
        }
        rate = r
        if let s = fields["Acceleration Scale"].flatMap({ Double($0) }), s.isFinite, s > 0 {
            scale = s
        } else {
            scale = 256
        }
        var zone: Int? = nil
        if let z = fields["TimeZone"] {
            zone = ActiGraphReader.zoneSeconds(z)
        }
        var meta = TraceMetadata()
        if let limb = fields["Limb"], !limb.isEmpty {
            let side = fields["Side"].map { $0.lowercased() + "-" } ?? ""
            meta["location"] = side + limb.lowercased()
        }
        info = DeviceInfo(
            format: .actigraph, device: fields["Device Type"].map { "ActiGraph " + $0 },
            serial: fields["Serial Number"], startTime: nil, utcOffset: zone, nominalRate: r, metadata: meta)
        bytes = ByteReader(source: try zip.open(logEntry))
        out = .allocate(capacity: outCapacity)
        // Every stored property is set: a throw from here on runs deinit.
        try advance()
        info.startTime = origin.map { Double($0 - (zone ?? 0)) }
    }

    deinit { out.deallocate() }

    /// `-05:00:00` (or `-05:00`) as seconds east of UTC.
    static func zoneSeconds(_ text: String) -> Int? {
        var t = Substring(text)
        var sign = 1
        if t.first == "-" {
            sign = -1
            t = t.dropFirst()
        } else if t.first == "+" {
            t = t.dropFirst()
        }
        let parts = t.split(separator: ":").map { Int($0) }
        guard let h = parts.first ?? nil, h <= 14 else { return nil }
        let m = parts.count > 1 ? parts[1] ?? 0 : 0
        let s = parts.count > 2 ? parts[2] ?? 0 : 0
        return sign * (h * 3600 + m * 60 + s)
    }

    func read(into buffer: UnsafeMutableBufferPointer<Sample>) throws(TraceError) -> Int {
        var n = 0
        while n < buffer.count {
            if outNext == outCount {
                if atEnd { break }
                try advance()
                continue
            }
            let k = min(buffer.count - n, outCount - outNext)
            for i in 0..<k { buffer[n + i] = out[outNext + i] }
            n += k
            outNext += k
        }
        return n
    }

    /// Reads records until one gives samples (into `out`) or the log ends.
    private func advance() throws(TraceError) {
        outCount = 0
        outNext = 0
        while true {
            guard let h = try bytes.take(8) else {
                if bytes.leftover > 0, !allZero(bytes.leftover) {
                    skips["record cut short at the end", default: 0] += 1
                }
                atEnd = true
                return
            }
            guard h[0] == 0x1E else {
                // Not at a record: step one byte and look again (zero padding at the end is usual).
                try resync(from: h)
                continue
            }
            let type = h[1]
            let stamp = Int(h[2]) | Int(h[3]) << 8 | Int(h[4]) << 16 | Int(h[5]) << 24
            let size = Int(h[6]) | Int(h[7]) << 8
            var check: UInt8 = 0
            for i in 0..<8 { check ^= h[i] }
            guard let p = try bytes.take(size + 1) else {
                skips["record cut short at the end", default: 0] += 1
                atEnd = true
                return
            }
            for i in 0..<size { check ^= p[i] }
            guard ~check == p[size] else {
                skips["record checksum", default: 0] += 1
                continue
            }
            if type == 0x1A || type == 0x00 {
                decode(type: type, stamp: stamp, payload: p, size: size)
                if outCount > 0 { return }
            }
        }
    }

    /// Called with an 8-byte window that does not start a record: skips to the next 0x1E.
    private func resync(from h: UnsafePointer<UInt8>) throws(TraceError) {
        var k = 1
        while k < 8, h[k] != 0x1E { k += 1 }
        var nonzero = false
        for i in 0..<k where h[i] != 0 { nonzero = true }
        if nonzero { skips["bytes between records", default: 0] += k }
        bytes.unread(8 - k)
    }

    private func allZero(_ count: Int) -> Bool { bytes.leftoverIsZero() }

    @inline(__always)
    private func decode(type: UInt8, stamp: Int, payload p: UnsafePointer<UInt8>, size: Int) {
        let n: Int
        if type == 0x1A {
            guard size > 0, size % 6 == 0 else {
                skips["activity record of odd size", default: 0] += 1
                return
            }
            n = size / 6
        } else {
            n = size * 8 / 36
            guard n > 0 else { return }
        }
        guard n <= outCapacity else {
            skips["activity record too long", default: 0] += 1
            return
        }
        if origin == nil { origin = stamp }
        let base = Double(stamp - (origin ?? stamp))
        let dt = 1 / Double(n) < 1 / rate ? 1 / Double(n) : 1 / rate
        let inv = 1 / scale
        var m = 0
        for i in 0..<n {
            var x = 0
            var y = 0
            var z = 0
            if type == 0x1A {
                let q = p + 6 * i
                x = Int(Int16(bitPattern: UInt16(q[0]) | UInt16(q[1]) << 8))
                y = Int(Int16(bitPattern: UInt16(q[2]) | UInt16(q[3]) << 8))
                z = Int(Int16(bitPattern: UInt16(q[4]) | UInt16(q[5]) << 8))
            } else {
                y = twelveBits(p, 3 * i)
                x = twelveBits(p, 3 * i + 1)
                z = twelveBits(p, 3 * i + 2)
            }
            let t = base + Double(i) * dt
            if t > lastTime {
                out[m] = Sample(time: t, x: Double(x) * inv, y: Double(y) * inv, z: Double(z) * inv)
                m += 1
                lastTime = t
            }
        }
        if m < n { skips["samples overlapping the previous record", default: 0] += n - m }
        outCount = m
    }

    /// The `k`-th 12-bit big-endian two's-complement value of a bit-packed payload.
    @inline(__always)
    private func twelveBits(_ p: UnsafePointer<UInt8>, _ k: Int) -> Int {
        let bit = 12 * k
        let byte = bit >> 3
        let v: Int
        if bit & 7 == 0 {
            v = Int(p[byte]) << 4 | Int(p[byte + 1]) >> 4
        } else {
            v = (Int(p[byte]) & 0x0F) << 8 | Int(p[byte + 1])
        }
        return v >= 2048 ? v - 4096 : v
    }
}
