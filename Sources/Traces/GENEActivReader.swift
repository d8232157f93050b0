import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a GENEActiv `.bin` file: a text header, then pages of hex-packed samples.
///
/// The header (`Device Identity` ... `Memory Status`) gives the serial number, the device model,
/// the time zone and, under `Calibration Data`, each axis's gain and offset. Each page starts with
/// `Recorded Data`, then `Page Time:YYYY-MM-DD hh:mm:ss:mmm`, `Temperature:`, `Measurement
/// Frequency:` and a line of hex: 12 hex digits per sample, x, y, z as 12-bit two's complement,
/// then 10 bits of light and the button. A sample in g is (raw * 100 - offset) / gain (the
/// vendor's formula); sample k of a page is at the page time + k / frequency. Pages whose time
/// jumps leave a gap; a page that cannot be decoded is skipped and counted.
///
/// Page times are the device's local clock; the header's `Time Zone:GMT -04:00` turns them into UTC.
final class GENEActivReader: DeviceSampleSource {
    let path: String
    private let input: LineInput
    private(set) var info: DeviceInfo
    private(set) var temperatureRange: ClosedRange<Double>?
    private var skips: [String: Int] = [:]
    var skipped: [SkipCount] {
        skips.sorted { $0.key < $1.key }.map { SkipCount(reason: $0.key, count: $0.value) }
    }

    let gain: (Double, Double, Double)
    let offset: (Double, Double, Double)
    private let headerRate: Double?
    /// The first page's local time in milliseconds since 1970 (the time base's zero).
    private var originMs: Int? = nil
    private var lastTime = -Double.infinity
    /// Samples of the current page not yet handed out.
    private let page: UnsafeMutablePointer<Sample>
    private let pageCapacity: Int
    private var pageCount = 0
    private var pageNext = 0
    private var atEnd = false

    static let hexTable: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "0123456789ABCDEF".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        for (i, c) in "abcdef".utf8.enumerated() { t[Int(c)] = UInt8(10 + i) }
        return t
    }()

    static func looksLikeGENEActiv(_ head: [UInt8]) -> Bool {
        let magic = Array("Device Identity".utf8)
        return head.count >= magic.count && Array(head[0..<magic.count]) == magic
    }

    init(path: String) throws(TraceError) {
        self.path = path
        input = try LineInput(path: path)
        var fields: [String: String] = [:]
        var inCalibration = false
        var calibration: [String: String] = [:]
        var sawPage = false
        while let line = try input.nextLine() {
            let text = String(decoding: line, as: UTF8.self)
            if text == "Recorded Data" {
                sawPage = true
                break
            }
            if text == "Calibration Data" { inCalibration = true }
            guard let colon = text.firstIndex(of: ":") else { continue }
            let key = String(text[..<colon])
            let value = String(
                text[text.index(after: colon)...].filter { $0 != "\u{0}" }.trimmingCharacters())
            if inCalibration { calibration[key] = value } else if fields[key] == nil { fields[key] = value }
        }
        guard sawPage else {
            throw TraceError(
                .empty, path: path, line: input.lineNumber, "GENEActiv file has no pages of samples")
        }
        func number(_ key: String) throws(TraceError) -> Double {
            guard let text = calibration[key], let v = Double(text), v.isFinite else {
                throw TraceError(
                    .badMetadata, path: path, "GENEActiv header has no usable '\(key)' under Calibration Data"
                )
            }
            return v
        }
        let gx = try number("x gain")
        let gy = try number("y gain")
        let gz = try number("z gain")
        guard gx != 0, gy != 0, gz != 0 else {
            throw TraceError(.badMetadata, path: path, "GENEActiv calibration gain is 0")
        }
        gain = (gx, gy, gz)
        offset = (try number("x offset"), try number("y offset"), try number("z offset"))
        headerRate = fields["Measurement Frequency"].flatMap { GENEActivReader.leadingNumber($0) }
        var meta = TraceMetadata()
        let location = fields["Device Location Code"] ?? ""
        if !location.isEmpty { meta["location"] = location }
        let zone = fields["Time Zone"].flatMap { GENEActivReader.zoneOffset($0) }
        var model = fields["Device Type"] ?? "GENEActiv"
        if let m = fields["Device Model"], !m.isEmpty { model += " " + m }
        pageCapacity = (1 << 18) / 12 + 1
        page = .allocate(capacity: pageCapacity)
        info = DeviceInfo(
            format: .geneactiv, device: model, serial: fields["Device Unique Serial Code"],
            startTime: nil, utcOffset: zone, nominalRate: headerRate, metadata: meta)
        // Every stored property is set: a throw from here on runs deinit, which frees `page`.
        try readPage(afterHeader: true)
        info.startTime = startTime
    }

    deinit { page.deallocate() }

    /// Unix time (UTC) of the first sample: the first page's time in the header's time zone
    /// (UTC when the header has none).
    var startTime: Double? {
        originMs.map { Double($0) / 1000 - Double(info.utcOffset ?? 0) }
    }

    func read(into buffer: UnsafeMutableBufferPointer<Sample>) throws(TraceError) -> Int {
        var n = 0
        while n < buffer.count {
            if pageNext == pageCount {
                if atEnd { break }
                try readPage(afterHeader: false)
                continue
            }
            let k = min(buffer.count - n, pageCount - pageNext)
            for i in 0..<k { buffer[n + i] = page[pageNext + i] }
            n += k
            pageNext += k
        }
        return n
    }

    /// Reads the next page into `page` (sets `atEnd` when there is none).
    private func readPage(afterHeader: Bool) throws(TraceError) {
        pageCount = 0
        pageNext = 0
        var sawStart = afterHeader
        var pageMs: Int? = nil
        var rate = headerRate
        while let line = try input.nextLine() {
            guard line.count > 0 else { continue }
            if !sawStart {
                if line.count == 13, line[0] == 0x52, String(decoding: line, as: UTF8.self) == "Recorded Data"
                {
                    sawStart = true
                }
                continue
            }
            if line.count >= 12, line.count % 12 == 0, !line.contains(58) {
                guard let ms = pageMs, let fs = rate, fs >= 0.1, fs <= 100_000 else {
                    skips["page without time or frequency", default: 0] += 1
                    return
                }
                if decode(line, pageMs: ms, rate: fs) { return }
                skips["page with bad hex", default: 0] += 1
                sawStart = false
                pageMs = nil
                continue
            }
            let text = String(decoding: line, as: UTF8.self)
            if text.hasPrefix("Page Time:") {
                pageMs = GENEActivReader.parseLocalMs(text.dropFirst(10))
            } else if text.hasPrefix("Temperature:") {
                if let t = Double(text.dropFirst(12).trimmingCharacters()), t.isFinite {
                    temperatureRange =
                        temperatureRange.map { min($0.lowerBound, t)...max($0.upperBound, t) } ?? t...t
                }
            } else if text.hasPrefix("Measurement Frequency:") {
                if let f = GENEActivReader.leadingNumber(String(text.dropFirst(22))), f > 0 { rate = f }
            } else if text == "Recorded Data" {
                // A page with no data line: start over with the next.
                skips["page without samples", default: 0] += 1
                pageMs = nil
            }
        }
        atEnd = true
    }

    /// Decodes one hex line; false when it holds a character that is not hex.
    @inline(__always)
    private func decode(_ line: UnsafeBufferPointer<UInt8>, pageMs: Int, rate: Double) -> Bool {
        guard let p = line.baseAddress else { return false }
        if originMs == nil { originMs = pageMs }
        let base = Double(pageMs - (originMs ?? pageMs)) / 1000
        let count = min(line.count / 12, pageCapacity)
        let (gx, gy, gz) = gain
        let (ox, oy, oz) = offset
        let dt = 1 / rate
        var n = 0
        var bad: UInt8 = 0
        GENEActivReader.hexTable.withUnsafeBufferPointer { table in
            for k in 0..<count {
                let q = p + 12 * k
                var v: UInt64 = 0
                for j in 0..<9 {
                    let h = table[Int(q[j])]
                    bad |= h
                    v = v << 4 | UInt64(h & 0x0F)
                }
                // The last three digits are light and the button; checked but not used.
                bad |= table[Int(q[9])] | table[Int(q[10])] | table[Int(q[11])]
                let rx = Int64(bitPattern: (v >> 24) << 52) >> 52
                let ry = Int64(bitPattern: ((v >> 12) & 0xFFF) << 52) >> 52
                let rz = Int64(bitPattern: (v & 0xFFF) << 52) >> 52
                let t = base + Double(k) * dt
                if t > lastTime {
                    page[n] = Sample(
                        time: t, x: (Double(rx) * 100 - ox) / gx, y: (Double(ry) * 100 - oy) / gy,
                        z: (Double(rz) * 100 - oz) / gz)
                    n += 1
                    lastTime = t
                }
            }
        }
        if bad & 0xF0 != 0 { return false }
        if n < count { skips["samples overlapping the previous page", default: 0] += count - n }
        pageCount = n
        pageNext = 0
        return true
    }

    /// `2019-03-21 14:58:00:500` as milliseconds since 1970 on the same (local) clock.
    static func parseLocalMs(_ text: Substring) -> Int? {
        let b = Array(text.utf8)
        var i = 0
        func num(_ width: Int) -> Int? {
            var v = 0
            var got = 0
            while i < b.count, got < width, b[i] >= 48, b[i] <= 57 {
                v = v * 10 + Int(b[i] - 48)
                i += 1
                got += 1
            }
            return got > 0 ? v : nil
        }
        func skip() { if i < b.count { i += 1 } }
        guard let y = num(4) else { return nil }
        skip()
        guard let mo = num(2) else { return nil }
        skip()
        guard let d = num(2) else { return nil }
        skip()
        guard let h = num(2) else { return nil }
        skip()
        guard let mi = num(2) else { return nil }
        skip()
        guard let s = num(2) else { return nil }
        skip()
        let ms = num(3) ?? 0
        guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s <= 60, (1970...9999).contains(y)
        else { return nil }
        return ((civilDays(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000) + ms
    }

    /// `GMT -04:00` or `+01:00` as seconds east of UTC.
    static func zoneOffset(_ text: String) -> Int? {
        var t = Substring(text.trimmingCharacters())
        if t.hasPrefix("GMT") || t.hasPrefix("UTC") { t = t.dropFirst(3) }
        t = Substring(String(t).trimmingCharacters())
        guard let sign = t.first, sign == "+" || sign == "-" else { return t.isEmpty ? 0 : nil }
        let parts = t.dropFirst().split(separator: ":")
        guard let h = parts.first.flatMap({ Int($0) }), h <= 14 else { return nil }
        let m = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        return (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
    }

    /// The number at the start of `100 Hz` or `100.0`.
    static func leadingNumber(_ text: String) -> Double? {
        let t = text.trimmingCharacters()
        let digits = t.prefix { $0.isNumber || $0 == "." }
        guard let v = Double(digits), v.isFinite, v > 0 else { return nil }
        return v
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and carriage returns.
    func trimmingCharacters() -> String {
        var t = Substring(self)
        while let f = t.first, f == " " || f == "\t" || f == "\r" { t = t.dropFirst() }
        while let l = t.last, l == " " || l == "\t" || l == "\r" { t = t.dropLast() }
        return String(t)
    }
}
