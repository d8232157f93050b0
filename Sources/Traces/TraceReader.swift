public import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The kinds of trace file the reader understands.
public enum TraceFormat: String, Sendable, Equatable {
    /// `# key=value` lines, then a header naming a time column and three axes, then rows.
    case genericCSV = "csv"
    /// The CSV the phyphox phone app exports (`"Time (s)","Acceleration x (m/s^2)",...`).
    case phyphox
    /// A phyphox export archive: the CSV inside a zip, with `meta/time.csv` (``Recording``).
    case phyphoxZip = "phyphox-zip"
    /// GENEActiv `.bin` (``GENEActivReader``).
    case geneactiv = "geneactiv-bin"
    /// Axivity AX3/AX6 `.cwa` (``AxivityReader``).
    case axivity = "axivity-cwa"
    /// ActiGraph `.gt3x` (``ActiGraphReader``).
    case actigraph = "actigraph-gt3x"
}

/// The unit acceleration is stored in; samples always come out in g.
public enum AccelerationUnit: String, Sendable, Equatable {
    case g
    case milliG = "mg"
    case metersPerSecondSquared = "m/s^2"

    /// Multiply a stored value by this to get g.
    public var toG: Double {
        switch self {
        case .g: return 1
        case .milliG: return 0.001
        case .metersPerSecondSquared: return 1 / standardGravity
        }
    }
}

/// 1 g in m/s^2.
public let standardGravity = 9.80665

/// Streams samples from a trace file: generic CSV or a phyphox export, plain or gzip.
///
/// Opening reads the metadata and header and looks ahead at the first few thousand samples to
/// measure the sample rate (the median interval between timestamps); after that every call to
/// ``next()`` parses one line in place, with no allocation. Memory use does not depend on the
/// length of the file.
///
/// Samples come out with `time` in seconds after the first sample and acceleration in g. When an
/// error is found (a bad cell, a timestamp going backwards, a truncated gzip stream), the samples
/// before it are still returned; the error is thrown by the call that reaches it.
///
/// A reader is a handle on an open file: copies share it. Use it from one thread at a time.
public struct TraceReader {
    /// The path as given.
    public let path: String
    /// The `# key=value` lines before the header.
    public let metadata: TraceMetadata
    /// Generic CSV or a phyphox export (from the header).
    public let format: TraceFormat
    /// True when the file is gzip-compressed (detected from its content, not its name).
    public let compressed: Bool
    /// The unit of the acceleration columns in the file (samples are always in g).
    public let units: AccelerationUnit
    /// The header's column names, as written.
    public let columns: [String]
    /// Sample rate in Hz measured from the data: 1 / median interval of the first samples.
    public let sampleRate: Double
    /// Unix time (seconds) of the first sample, when the trace has absolute time: metadata
    /// `start_time` (RFC 3339) or `start_unix`, or a time column holding Unix epoch seconds.
    public let startTime: Double?
    /// The first sample's time value as written in the file, in seconds.
    public let firstTimestamp: Double

    private let state: ReaderState

    /// How many samples the reader looks at to measure the rate.
    public static let lookahead = 4096

    /// Opens `path` (`-` for standard input) and reads its metadata, header and first samples.
    ///
    /// Throws ``TraceError`` with kind `.noInput` when the file cannot be opened, `.empty` when
    /// it holds fewer than two samples, `.unknownHeader` when the header does not name a time
    /// column and three axes, and the content errors of ``next()`` when they occur among the
    /// very first samples.
    public init(path: String) throws(TraceError) {
        try self.init(path: path, input: LineInput(path: path))
    }

    /// Reads the lines of `input` (a member of a zip archive, for ``Recording``).
    init(path: String, input: LineInput) throws(TraceError) {
        self.path = path
        var meta = TraceMetadata()
        var metaLines: [String: Int] = [:]
        var headerLine: UnsafeBufferPointer<UInt8>? = nil
        while let line = try input.nextLine() {
            var s = 0
            if input.lineNumber == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
                s = 3
            }
            while s < line.count, line[s] == 32 || line[s] == 9 { s += 1 }
            if s == line.count { continue }
            if line[s] == 35 {
                let text = String(decoding: UnsafeBufferPointer(rebasing: line[(s + 1)...]), as: UTF8.self)
                if let eq = text.firstIndex(of: "=") {
                    let key = trimmed(text[..<eq])
                    let value = trimmed(text[text.index(after: eq)...])
                    if !key.isEmpty {
                        meta.entries.append(TraceMetadata.Entry(key: key, value: value))
                        metaLines[key] = input.lineNumber
                    }
                }
                continue
            }
            headerLine = UnsafeBufferPointer(rebasing: line[s...])
            break
        }
        guard let headerLine else {
            throw TraceError(
                .empty, path: path, line: input.lineNumber == 0 ? nil : input.lineNumber,
                input.lineNumber == 0 ? "file is empty" : "no header and no samples (only metadata lines)")
        }
        let headerNumber = input.lineNumber
        let header = try Header(parsing: headerLine, path: path, line: headerNumber)
        columns = header.names
        format = header.format
        units = header.units
        metadata = meta
        compressed = input.compressed

        let state = ReaderState(input: input, header: header)
        self.state = state
        try state.prime()
        guard state.bufferedCount >= 2 else {
            if let error = state.pendingError { throw error }
            throw TraceError(
                .empty, path: path, line: input.lineNumber,
                state.bufferedCount == 0
                    ? "no samples after the header" : "only one sample; a trace needs at least two")
        }
        sampleRate = state.medianRate()
        firstTimestamp = state.firstRaw

        var start: Double? = nil
        if let text = meta["start_time"] {
            guard let t = RFC3339.parse(text) else {
                throw TraceError(
                    .badMetadata, path: path, line: metaLines["start_time"],
                    "start_time '\(text)' is not an RFC 3339 time such as 2026-11-26T23:00:00Z")
            }
            start = t
        } else if let text = meta["start_unix"] {
            guard let t = Double(text), t.isFinite else {
                throw TraceError(
                    .badMetadata, path: path, line: metaLines["start_unix"],
                    "start_unix '\(text)' is not a number of seconds")
            }
            start = t
        } else if state.firstRaw >= 1e9 {
            start = state.firstRaw
        }
        startTime = start
    }

    /// 1-based line number of the last line read (counting metadata and header lines).
    public var line: Int { state.input.lineNumber }

    /// Number of samples returned so far.
    public var samplesRead: Int { state.delivered }

    /// The next sample, or nil at the end of the file.
    @inline(__always)
    public mutating func next() throws(TraceError) -> Sample? {
        try state.next()
    }

    /// Fills `buffer` from the start with up to `buffer.count` samples and returns how many.
    /// Returns 0 only at the end. If an error is found after some samples were stored, those are
    /// returned first and the error is thrown by the following call.
    public mutating func read(into buffer: UnsafeMutableBufferPointer<Sample>) throws(TraceError) -> Int {
        var n = 0
        while n < buffer.count {
            do {
                guard let s = try state.next() else { break }
                buffer[n] = s
                n += 1
            } catch {
                if n == 0 { throw error }
                state.pendingError = error
                break
            }
        }
        return n
    }
}

@inline(__always)
private func trimmed(_ s: Substring) -> String {
    var t = s
    while let f = t.first, f == " " || f == "\t" || f == "\"" { t = t.dropFirst() }
    while let l = t.last, l == " " || l == "\t" || l == "\"" || l == "\r" { t = t.dropLast() }
    return String(t)
}

/// What the header says about the columns.
struct Header {
    var names: [String]
    var format: TraceFormat
    var units: AccelerationUnit
    var delimiter: UInt8
    var timeIndex: Int
    var axisIndex: (Int, Int, Int)
    var timeScale: Double
    var axisScale: (Double, Double, Double)

    init(parsing line: UnsafeBufferPointer<UInt8>, path: String, line number: Int) throws(TraceError) {
        var counts = (0, 0, 0)
        for c in line {
            if c == 44 { counts.0 += 1 } else if c == 9 { counts.1 += 1 } else if c == 59 { counts.2 += 1 }
        }
        delimiter = 44
        if counts.1 > counts.0, counts.1 >= counts.2 { delimiter = 9 }
        if counts.2 > counts.0, counts.2 > counts.1 { delimiter = 59 }
        let text = String(decoding: line, as: UTF8.self)
        names = text.split(separator: Character(Unicode.Scalar(delimiter)), omittingEmptySubsequences: false)
            .map { trimmed($0) }
        let lower = names.map { $0.lowercased() }
        let expected = "expected a header such as time_s,ax_g,ay_g,az_g (g) or time_s,ax_ms2,ay_ms2,az_ms2"
        if lower.allSatisfy({ Double($0) != nil }) {
            throw TraceError(
                .unknownHeader, path: path, line: number,
                "found numbers where the header should be; \(expected)")
        }
        var time: Int? = nil
        var axes: [Int?] = [nil, nil, nil]
        for (i, n) in lower.enumerated() {
            if time == nil, Header.isTime(n) {
                time = i
            } else if let a = Header.axis(n), axes[a] == nil {
                axes[a] = i
            }
        }
        guard let time, let x = axes[0], let y = axes[1], let z = axes[2] else {
            var missing: [String] = []
            if time == nil { missing.append("a time column") }
            for (k, name) in ["x", "y", "z"].enumerated() where axes[k] == nil {
                missing.append("axis \(name)")
            }
            throw TraceError(
                .unknownHeader, path: path, line: number,
                "unknown header '\(text)': no \(missing.joined(separator: ", ")); \(expected)")
        }
        timeIndex = time
        axisIndex = (x, y, z)
        timeScale = Header.timeScale(lower[time])
        let ux = Header.unit(lower[x])
        axisScale = (ux.toG, Header.unit(lower[y]).toG, Header.unit(lower[z]).toG)
        units = ux
        format = lower[time] == "time (s)" && lower[x].contains("acceleration x") ? .phyphox : .genericCSV
    }

    static func isTime(_ n: String) -> Bool {
        n == "t" || n.hasPrefix("time") || n.hasPrefix("t_") || n.hasPrefix("t ") || n.hasPrefix("t(")
            || n.hasPrefix("t[") || n == "seconds" || n == "secs"
    }

    static func timeScale(_ n: String) -> Double {
        if n.hasSuffix("_ms") || n.contains("(ms)") || n.contains("[ms]") { return 1e-3 }
        if n.hasSuffix("_us") || n.contains("(us)") || n.contains("[us]") || n.contains("(µs)") {
            return 1e-6
        }
        return 1
    }

    static func unit(_ n: String) -> AccelerationUnit {
        let compact = n.filter { $0 != " " }
        for m in [
            "m/s^2", "m/s²", "m/s2", "ms^-2", "ms-2", "_ms2", "m_s2", "mps2", "(ms2)", "[ms2]", "m/s/s",
        ]
        where compact.contains(m) {
            return .metersPerSecondSquared
        }
        if compact.hasSuffix("_mg") || compact.contains("(mg)") || compact.contains("[mg]") { return .milliG }
        return .g
    }

    /// 0, 1, 2 for a column naming axis x, y, z; nil otherwise.
    static func axis(_ n: String) -> Int? {
        var base = Substring(n)
        if let p = base.firstIndex(where: { $0 == "(" || $0 == "[" }) { base = base[..<p] }
        var compact = base.filter { $0 != " " && $0 != "_" && $0 != "-" && $0 != "." }
        for suffix in ["ms2", "mg", "g"] where compact.hasSuffix(suffix) && compact.count > suffix.count {
            let stem = compact.dropLast(suffix.count)
            if let l = stem.last, "xyz".contains(l) {
                compact = String(stem)
                break
            }
        }
        if compact.hasSuffix("axis") { compact = String(compact.dropLast(4)) }
        guard let last = compact.last, let a = "xyz".firstIndex(of: last) else { return nil }
        let prefix = compact.dropLast()
        let allowed: Set<Substring> = [
            "", "a", "acc", "accel", "acceleration", "linearacceleration", "accelerometer", "raw", "g",
        ]
        guard allowed.contains(prefix) else { return nil }
        return "xyz".distance(from: "xyz".startIndex, to: a)
    }
}

/// The mutable side of a reader: the open file, the look-ahead buffer and the parse state.
final class ReaderState {
    let input: LineInput
    let path: String
    let delimiter: UInt8
    let decimalComma: Bool
    let ti: Int
    let xi: Int
    let yi: Int
    let zi: Int
    let maxIndex: Int
    let timeScale: Double
    let sx: Double
    let sy: Double
    let sz: Double

    /// Look-ahead ring used only at the start (to measure the rate).
    private let ahead: UnsafeMutablePointer<Sample>
    private(set) var bufferedCount = 0
    private var bufferedNext = 0
    var pendingError: TraceError? = nil
    private(set) var delivered = 0
    private(set) var firstRaw = 0.0
    private var previousRaw = -Double.infinity
    private var haveFirst = false

    init(input: LineInput, header: Header) {
        self.input = input
        path = input.path
        delimiter = header.delimiter
        decimalComma = header.delimiter == 59
        ti = header.timeIndex
        (xi, yi, zi) = header.axisIndex
        maxIndex = max(ti, xi, yi, zi)
        timeScale = header.timeScale
        (sx, sy, sz) = header.axisScale
        ahead = .allocate(capacity: TraceReader.lookahead)
    }

    deinit { ahead.deallocate() }

    func prime() throws(TraceError) {
        while bufferedCount < TraceReader.lookahead {
            do {
                guard let s = try parseNext() else { break }
                ahead[bufferedCount] = s
                bufferedCount += 1
            } catch {
                pendingError = error
                break
            }
        }
    }

    func medianRate() -> Double {
        var intervals: [Double] = []
        intervals.reserveCapacity(bufferedCount)
        for i in 1..<bufferedCount { intervals.append(ahead[i].time - ahead[i - 1].time) }
        intervals.sort()
        let m = intervals.count
        let median = m % 2 == 1 ? intervals[m / 2] : (intervals[m / 2 - 1] + intervals[m / 2]) / 2
        return median > 0 ? 1 / median : 0
    }

    @inline(__always)
    func next() throws(TraceError) -> Sample? {
        if bufferedNext < bufferedCount {
            let s = ahead[bufferedNext]
            bufferedNext += 1
            delivered += 1
            return s
        }
        if let e = pendingError {
            pendingError = nil
            bufferedCount = 0
            bufferedNext = 0
            throw e
        }
        guard let s = try parseNext() else { return nil }
        delivered += 1
        return s
    }

    @inline(__always)
    private func parseNext() throws(TraceError) -> Sample? {
        while true {
            guard let line = try input.nextLine() else { return nil }
            guard let base = line.baseAddress, line.count > 0 else { continue }
            if let sample = try parse(base, line.count) { return sample }
        }
    }

    /// Parses one data line; nil for a blank or comment line.
    @inline(__always)
    private func parse(_ p: UnsafePointer<UInt8>, _ n: Int) throws(TraceError) -> Sample? {
        var t = 0.0
        var x = 0.0
        var y = 0.0
        var z = 0.0
        var cell = 0
        var i = 0
        // Blank (whitespace only) and comment lines are skipped.
        var k = 0
        while k < n, p[k] == 32 || p[k] == 9 || p[k] == 13 { k += 1 }
        if k == n || p[k] == 35 { return nil }
        while cell <= maxIndex {
            var j = i
            while j < n, p[j] != delimiter { j += 1 }
            if cell == ti || cell == xi || cell == yi || cell == zi {
                switch NumberParser.parse(p + i, j - i, decimalComma: decimalComma) {
                case .value(let v):
                    if cell == ti {
                        t = v
                    } else if cell == xi {
                        x = v
                    } else if cell == yi {
                        y = v
                    } else {
                        z = v
                    }
                case .notANumber:
                    throw cellError(p, i, j, cell, "is not a number")
                case .nonFinite:
                    throw TraceError(
                        .nonFinite, path: path, line: input.lineNumber,
                        "column \(cell + 1) is \(cellText(p, i, j)); samples must be finite numbers")
                }
            }
            cell += 1
            if j >= n {
                if cell <= maxIndex {
                    throw TraceError(
                        .badCell, path: path, line: input.lineNumber,
                        "row has \(cell) cells, expected at least \(maxIndex + 1)")
                }
                break
            }
            i = j + 1
        }
        let raw = t * timeScale
        if !(raw > previousRaw) {
            throw TraceError(
                .nonMonotonic, path: path, line: input.lineNumber,
                "time \(raw) s is not after the previous sample's \(previousRaw) s; timestamps must increase")
        }
        previousRaw = raw
        if !haveFirst {
            haveFirst = true
            firstRaw = raw
        }
        return Sample(time: raw - firstRaw, x: x * sx, y: y * sy, z: z * sz)
    }

    private func cellText(_ p: UnsafePointer<UInt8>, _ i: Int, _ j: Int) -> String {
        let shown = min(j - i, 40)
        return "'" + String(decoding: UnsafeBufferPointer(start: p + i, count: shown), as: UTF8.self) + "'"
    }

    private func cellError(_ p: UnsafePointer<UInt8>, _ i: Int, _ j: Int, _ cell: Int, _ what: String)
        -> TraceError
    {
        let text = j > i ? cellText(p, i, j) : "empty"
        return TraceError(
            .badCell, path: path, line: input.lineNumber, "column \(cell + 1) (\(text)) \(what)")
    }
}
