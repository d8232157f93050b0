import TwitchCore

/// Reads an Axivity AX3/AX6 `.cwa` file: a 1024-byte `MD` header, then 512-byte `AX` blocks.
///
/// Each data block holds a packed time stamp (with a 1/65536 s fraction on current firmware) and
/// the index of the sample it belongs to, a sample-rate code (rate = 3200 / 2^(15 - code & 15)
/// Hz), the axes and bytes per sample (3 axes packed into 32 bits, 10 bits each with a shared
/// exponent, or 16-bit values; AX6 puts the gyroscope first), temperature, and a checksum (the
/// 16-bit words of a block add up to 0). A block whose checksum does not add up, or that is not
/// a data block, is skipped and counted. Sample times are spread evenly between one block's
/// first sample and the next's, as the device clock measured them, so the rate is the measured
/// one; a jump between blocks (a missing block, a device paused) stays a gap.
///
/// The time stamps are the device clock, set to the configuring computer's local time: the
/// header's time zone (when set) converts to UTC; otherwise they are taken as UTC.
final class AxivityReader: DeviceSampleSource {
    let path: String
    private let bytes: ByteReader
    private(set) var info: DeviceInfo
    private(set) var temperatureRange: ClosedRange<Double>?
    private var skips: [String: Int] = [:]
    var skipped: [SkipCount] {
        skips.sorted { $0.key < $1.key }.map { SkipCount(reason: $0.key, count: $0.value) }
    }

    /// One decoded block.
    private struct Block {
        var start = 0.0
        var rate = 0.0
        var count = 0
    }

    private var origin: Double? = nil
    private var current = Block()
    private var haveCurrent = false
    private let currentValues: UnsafeMutablePointer<SIMD4<Double>>
    private let nextValues: UnsafeMutablePointer<SIMD4<Double>>
    private var lastSpacing: Double? = nil
    private var lastTime = -Double.infinity
    private let out: UnsafeMutablePointer<Sample>
    private var outCount = 0
    private var outNext = 0
    private var atEnd = false

    static func looksLikeAxivity(_ head: [UInt8]) -> Bool {
        head.count >= 64 && head[0] == 0x4D && head[1] == 0x44 && le16(head, 2) >= 0x3FC - 8
    }

    init(file: FileHandle) throws(TraceError) {
        path = file.path
        let header = try file.bytes(at: 0, count: 1024)
        guard header.count >= 64 else {
            throw TraceError(.truncated, path: path, "Axivity header is cut short")
        }
        let headerLength = (le16(header, 2) + 4 + 511) / 512 * 512
        let hardware = header[4]
        var id = le16(header, 5)
        let upper = le16(header, 11)
        if upper != 0xFFFF { id |= upper << 16 }
        let rateCode = Int(header[36])
        let zone = Int16(bitPattern: UInt16(le16(header, 42)))
        let model: String
        switch hardware {
        case 0x64: model = "AX6"
        case 0x00, 0xFF, 0x17: model = "AX3"
        default: model = "Axivity (hardware 0x\(String(hardware, radix: 16)))"
        }
        info = DeviceInfo(
            format: .axivity, device: model, serial: "\(id)", startTime: nil,
            utcOffset: zone == -1 ? nil : Int(zone) * 60,
            nominalRate: AxivityReader.rate(code: rateCode), metadata: TraceMetadata())
        bytes = ByteReader(source: FileSource(file: file, offset: headerLength))
        currentValues = .allocate(capacity: 256)
        nextValues = .allocate(capacity: 256)
        out = .allocate(capacity: 256)
        // Every stored property is set: a throw from here on runs deinit.
        try advance()
        info.startTime = origin.map { $0 - Double(info.utcOffset ?? 0) }
    }

    deinit {
        currentValues.deallocate()
        nextValues.deallocate()
        out.deallocate()
    }

    /// 3200 / 2^(15 - (code & 15)) Hz.
    static func rate(code: Int) -> Double {
        3200 / Double(1 << (15 - (code & 15)))
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

    /// Reads blocks until the current one can be timed (the next block is known, or the file
    /// ended), then puts its samples in `out`.
    private func advance() throws(TraceError) {
        outCount = 0
        outNext = 0
        while true {
            guard let p = try bytes.take(512) else {
                if bytes.leftover > 0 { skips["block cut short at the end", default: 0] += 1 }
                if haveCurrent {
                    emit(spacing: lastSpacing ?? 1 / current.rate)
                    haveCurrent = false
                }
                atEnd = true
                return
            }
            guard p[0] == 0x41, p[1] == 0x58 else {
                skips["not a data block", default: 0] += 1
                continue
            }
            var sum: UInt16 = 0
            for w in 0..<256 { sum &+= UInt16(p[2 * w]) | UInt16(p[2 * w + 1]) << 8 }
            guard sum == 0 else {
                skips["block checksum", default: 0] += 1
                continue
            }
            guard let block = decode(p) else {
                skips["block with a bad header", default: 0] += 1
                continue
            }
            if haveCurrent {
                let nominal = Double(current.count) / current.rate
                let span = block.start - current.start
                let spacing: Double
                if span > 0.5 * nominal, span < 1.5 * nominal {
                    spacing = span / Double(current.count)
                    lastSpacing = spacing
                } else {
                    spacing = lastSpacing ?? 1 / current.rate
                }
                emit(spacing: spacing)
            }
            current = block
            swap(block: true)
            haveCurrent = true
            if outCount > 0 { return }
        }
    }

    /// Moves the just-decoded values (in `nextValues`) into `currentValues`.
    @inline(__always)
    private func swap(block: Bool) {
        for i in 0..<current.count { currentValues[i] = nextValues[i] }
    }

    /// Puts the current block's samples into `out`, `spacing` seconds apart.
    @inline(__always)
    private func emit(spacing: Double) {
        var n = 0
        for i in 0..<current.count {
            let t = current.start + Double(i) * spacing
            if t > lastTime {
                let v = currentValues[i]
                out[n] = Sample(time: t, x: v[0], y: v[1], z: v[2])
                n += 1
                lastTime = t
            }
        }
        if n < current.count {
            skips["samples overlapping the previous block", default: 0] += current.count - n
        }
        outCount = n
        outNext = 0
    }

    /// Decodes a data block's header and samples (into `nextValues`), or nil when it makes no sense.
    private func decode(_ p: UnsafePointer<UInt8>) -> Block? {
        func u16(_ i: Int) -> Int { Int(p[i]) | Int(p[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
        let fractional = u16(4)
        let stamp = u32(14)
        let light = u16(18)
        let temperature = u16(20) & 0x3FF
        let rateCode = Int(p[24])
        let axesBPS = Int(p[25])
        var offset = Int(Int16(bitPattern: UInt16(u16(26))))
        let count = u16(28)
        let axes = axesBPS >> 4
        let bps = axesBPS & 15
        guard axes == 3 || axes == 6 || axes == 9 else { return nil }
        let bytesPerSample = bps == 0 ? 4 : bps * axes
        guard bps == 0 || bps == 2, bps == 2 || axes == 3, count > 0, count * bytesPerSample <= 480 else {
            return nil
        }
        let rate = AxivityReader.rate(code: rateCode)
        // YYYYYYMM MMDDDDDh hhhhmmmm mmssssss
        let year = Int(stamp >> 26 & 0x3F) + 2000
        let month = Int(stamp >> 22 & 0x0F)
        let day = Int(stamp >> 17 & 0x1F)
        let hour = Int(stamp >> 12 & 0x1F)
        let minute = Int(stamp >> 6 & 0x3F)
        let second = Int(stamp & 0x3F)
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else {
            return nil
        }
        var time = Double(civilDays(year, month, day) * 86400 + hour * 3600 + minute * 60 + second)
        if fractional & 0x8000 != 0 {
            // Current firmware: a 1/65536 s fraction, and the sample offset was shifted by the
            // whole samples in that fraction for older readers; undo the shift.
            let fraction = (fractional & 0x7FFF) << 1
            time += Double(fraction) / 65536
            offset += Int(Double(fraction) * rate / 65536)
        }
        let start = time - Double(offset) / rate
        if origin == nil { origin = start }
        let t = 75.0 * Double(temperature) / 256 - 50
        temperatureRange = temperatureRange.map { min($0.lowerBound, t)...max($0.upperBound, t) } ?? t...t
        let data = p + 30
        if bps == 0 {
            let scale = 1.0 / 256
            for i in 0..<count {
                let q = data + 4 * i
                let v = UInt32(q[0]) | UInt32(q[1]) << 8 | UInt32(q[2]) << 16 | UInt32(q[3]) << 24
                let e = 6 - Int(v >> 30)
                let x = Int16(bitPattern: UInt16(truncatingIfNeeded: (v << 6) & 0xFFC0)) >> e
                let y = Int16(bitPattern: UInt16(truncatingIfNeeded: (v >> 4) & 0xFFC0)) >> e
                let z = Int16(bitPattern: UInt16(truncatingIfNeeded: (v >> 14) & 0xFFC0)) >> e
                nextValues[i] = SIMD4(Double(x) * scale, Double(y) * scale, Double(z) * scale, 0)
            }
        } else {
            // AX6 (and AX3 unpacked): 1 g = 2^(8 + top 3 bits of the light word) counts.
            let scale = 1.0 / Double(1 << (8 + (light >> 13 & 7)))
            let first = axes == 3 ? 0 : 3
            for i in 0..<count {
                let q = data + bytesPerSample * i + 2 * first
                func s16(_ k: Int) -> Double {
                    Double(Int16(bitPattern: UInt16(q[2 * k]) | UInt16(q[2 * k + 1]) << 8))
                }
                nextValues[i] = SIMD4(s16(0) * scale, s16(1) * scale, s16(2) * scale, 0)
            }
        }
        return Block(start: start - (origin ?? start), rate: rate, count: count)
    }
}
