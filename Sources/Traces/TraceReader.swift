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

/// How a ``TraceReader`` treats what real loggers get wrong.
public struct TraceReadOptions: Sendable, Equatable {
    /// Refuse the file at the first duplicate or backward timestamp, empty or NaN cell, or short
    /// row (instead of skipping and counting such rows in ``TraceReader/skipped``).
    public var strict: Bool
    /// The acceleration unit, overriding the header and the gravity check (`--units`).
    public var units: AccelerationUnit?

    /// Tolerant reading with units from the header or, when it names none, from gravity.
    public init(strict: Bool = false, units: AccelerationUnit? = nil) {
        self.strict = strict
        self.units = units
    }
}

/// Rows a tolerant ``TraceReader`` skipped, by reason, with the first line of each.
public struct SkippedRows: Sendable, Equatable, CustomStringConvertible {
    /// Why a row was skipped.
    public enum Reason: String, Sendable, CaseIterable {
        /// The same timestamp as the row before (phyphox writes 7 significant digits).
        case duplicateTime = "duplicate timestamp"
        /// A timestamp a little (at most ``TraceReader/maxBackwardStep``) before the latest one.
        case backwardTime = "timestamp going back"
        /// An empty cell, or NaN or infinity, in the time or an axis column.
        case missingValue = "empty or NaN cell"
        /// Fewer cells than the header's columns (a row cut short, e.g. the last one of a
        /// recording that was killed).
        case shortRow = "short row"
    }

    /// Rows skipped for each reason.
    public private(set) var counts: [Reason: Int] = [:]
    /// The first line skipped for each reason (1-based, in the decompressed text).
    public private(set) var firstLine: [Reason: Int] = [:]

    /// No rows skipped.
    public init() {}

    /// Rows skipped for any reason.
    public var total: Int { counts.values.reduce(0, +) }

    /// Rows skipped for `reason`.
    public subscript(reason: Reason) -> Int { counts[reason] ?? 0 }

    mutating func add(_ reason: Reason, line: Int) {
        counts[reason, default: 0] += 1
        if firstLine[reason] == nil { firstLine[reason] = line }
    }

    /// `3 rows skipped: 2 duplicate timestamps (first at line 12), 1 empty or NaN cell (line 40)`,
    /// or `no rows skipped`.
    public var description: String {
        let n = total
        guard n > 0 else { return "no rows skipped" }
        let parts = Reason.allCases.compactMap { r -> String? in
            guard let c = counts[r], c > 0 else { return nil }
            let name = c == 1 ? r.rawValue : (r == .missingValue ? "empty or NaN cells" : r.rawValue + "s")
            let at = firstLine[r].map { c == 1 ? " (line \($0))" : " (first at line \($0))" } ?? ""
            return "\(c) \(name)\(at)"
        }
        return "\(n) row\(n == 1 ? "" : "s") skipped: " + parts.joined(separator: ", ")
    }
}

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
    /// Why ``units`` is what it is when the header does not say (decided from gravity, or
    /// `--units`), e.g. `no unit in the header; median |a| 9.79 is gravity in m/s^2`; nil when
    /// the header names the unit.
    public let unitsNote: String?
    /// Why the time column is read in the unit it is when its name does not say (decided from
    /// the magnitude and steps of the timestamps), e.g. `time column 'time' names no unit; ...`.
    /// Nil when the header names it (or says nothing and the values are plain seconds).
    public let timeNote: String?
    /// The header's column names, as written.
    public let columns: [String]
    /// Sample rate in Hz measured from the data: 1 / median interval of the first samples.
    public let sampleRate: Double
    /// Unix time (seconds) of the first sample, when the trace has absolute time: metadata
    /// `start_time` (RFC 3339) or `start_unix`, or a time column holding Unix epoch time.
    public let startTime: Double?
    /// The first sample's time value as written in the file, in seconds.
    public let firstTimestamp: Double
    /// How the file is read (strict or tolerant, a forced unit).
    public let options: TraceReadOptions

    private let state: ReaderState

    /// How many samples the reader looks at to measure the rate.
    public static let lookahead = 4096
    /// A timestamp at most this many seconds before the latest is a logger's jitter and its row
    /// is skipped (tolerant reading); a bigger step back is an error.
    public static let maxBackwardStep = 1.0
    /// At most this many `# key=value` lines (each at most ``maxMetadataBytes``): a trace's
    /// metadata is a few lines; a file of millions of them is not a trace.
    public static let maxMetadataLines = 1000
    /// The longest `# key=value` line kept, in bytes.
    public static let maxMetadataBytes = 4096
    /// The most header columns.
    public static let maxColumns = 1024

    /// Opens `path` (`-` for standard input) and reads its metadata, header and first samples,
    /// tolerant of duplicate and slightly backward timestamps, empty and NaN cells and short
    /// rows (skipped and counted in ``skipped``).
    public init(path: String) throws(TraceError) {
        try self.init(path: path, options: TraceReadOptions())
    }

    /// Opens `path` (`-` for standard input) and reads its metadata, header and first samples.
    ///
    /// Throws ``TraceError`` with kind `.noInput` when the file cannot be opened, `.empty` when
    /// it holds fewer than two samples, `.unknownHeader` when the header does not name a time
    /// column and three axes, and the content errors of ``next()`` when they occur among the
    /// very first samples.
    public init(path: String, options: TraceReadOptions) throws(TraceError) {
        try self.init(path: path, input: LineInput(path: path), options: options)
    }

    /// Reads the lines of `input` (a member of a zip archive, for ``Recording``).
    init(path: String, input: LineInput, options: TraceReadOptions = TraceReadOptions()) throws(TraceError) {
        self.path = path
        self.options = options
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
                guard let eq = line[(s + 1)...].firstIndex(of: 61) else { continue }
                guard meta.entries.count < TraceReader.maxMetadataLines else {
                    throw TraceError(
                        .badMetadata, path: path, line: input.lineNumber,
                        "more than \(TraceReader.maxMetadataLines) '# key=value' lines; this is not a trace file"
                    )
                }
                guard line.count - s <= TraceReader.maxMetadataBytes else {
                    throw TraceError(
                        .badMetadata, path: path, line: input.lineNumber,
                        "metadata line longer than \(TraceReader.maxMetadataBytes) bytes")
                }
                let key = trimmed(
                    String(decoding: UnsafeBufferPointer(rebasing: line[(s + 1)..<eq]), as: UTF8.self)[...])
                let value = trimmed(
                    String(decoding: UnsafeBufferPointer(rebasing: line[(eq + 1)...]), as: UTF8.self)[...])
                if !key.isEmpty {
                    meta.entries.append(TraceMetadata.Entry(key: key, value: value))
                    metaLines[key] = input.lineNumber
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
        metadata = meta
        compressed = input.compressed

        let state = ReaderState(input: input, header: header, strict: options.strict)
        self.state = state
        try state.prime()
        guard state.bufferedCount >= 2 else {
            if let error = state.pendingError { throw error }
            let skippedNote = state.skipped.total > 0 ? " (\(state.skipped))" : ""
            throw TraceError(
                .empty, path: path, line: input.lineNumber,
                (state.bufferedCount == 0
                    ? "no samples after the header" : "only one sample; a trace needs at least two")
                    + skippedNote)
        }
        // Units the header does not name: from the magnitude and steps of the first samples.
        timeNote =
            header.timeScale == nil ? state.decideTimeScale(column: header.names[header.timeIndex]) : nil
        if state.bufferedCount < 2, let error = state.pendingError { throw error }
        (units, unitsNote) = state.decideUnits(header: header, forced: options.units)
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
            guard let t = Double(text), RFC3339.representable.contains(t) else {
                throw TraceError(
                    .badMetadata, path: path, line: metaLines["start_unix"],
                    "start_unix '\(text)' is not a number of seconds between the years 0000 and 9999")
            }
            start = t
        } else if state.firstRaw >= 1e9, RFC3339.representable.contains(state.firstRaw) {
            start = state.firstRaw
        }
        startTime = start
    }

    /// 1-based line number of the last line read (counting metadata and header lines).
    public var line: Int { state.input.lineNumber }

    /// Number of samples returned so far.
    public var samplesRead: Int { state.delivered }

    /// The rows skipped so far, by reason (always empty when reading strictly). Rows among the
    /// first ``lookahead`` samples are counted as soon as the file is opened.
    public var skipped: SkippedRows { state.skipped }

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
    var delimiter: UInt8
    var timeIndex: Int
    var axisIndex: (Int, Int, Int)
    /// Seconds per unit of the time column, or nil when its name does not say.
    var timeScale: Double?
    /// The unit each axis column names, nil when it names none.
    var axisUnits: (AccelerationUnit?, AccelerationUnit?, AccelerationUnit?)

    init(parsing line: UnsafeBufferPointer<UInt8>, path: String, line number: Int) throws(TraceError) {
        var counts = (0, 0, 0)
        var quoted = false
        for c in line {
            if c == 34 { quoted.toggle() }
            if quoted { continue }
            if c == 44 { counts.0 += 1 } else if c == 9 { counts.1 += 1 } else if c == 59 { counts.2 += 1 }
        }
        delimiter = 44
        if counts.1 > counts.0, counts.1 >= counts.2 { delimiter = 9 }
        if counts.2 > counts.0, counts.2 > counts.1 { delimiter = 59 }
        guard max(counts.0, counts.1, counts.2) < TraceReader.maxColumns else {
            throw TraceError(
                .unknownHeader, path: path, line: number,
                "header with more than \(TraceReader.maxColumns) columns; this is not a trace file")
        }
        let text = String(decoding: line, as: UTF8.self)
        names = try Header.split(line, delimiter: delimiter, path: path, line: number).map {
            trimmed(String(decoding: $0, as: UTF8.self)[...])
        }
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
            let shown = text.count > 200 ? String(text.prefix(200)) + "..." : text
            throw TraceError(
                .unknownHeader, path: path, line: number,
                "unknown header '\(shown)': no \(missing.joined(separator: ", ")); \(expected)")
        }
        timeIndex = time
        axisIndex = (x, y, z)
        timeScale = Header.timeScale(lower[time])
        axisUnits = (Header.unit(lower[x]), Header.unit(lower[y]), Header.unit(lower[z]))
        format = lower[time] == "time (s)" && lower[x].contains("acceleration x") ? .phyphox : .genericCSV
    }

    /// The cells of a header line, honouring double quotes (a delimiter inside quotes is text).
    static func split(_ line: UnsafeBufferPointer<UInt8>, delimiter: UInt8, path: String, line number: Int)
        throws(TraceError) -> [UnsafeBufferPointer<UInt8>]
    {
        var cells: [UnsafeBufferPointer<UInt8>] = []
        var i = 0
        let n = line.count
        while true {
            let (cellEnd, next) = try scanCell(line, from: i, delimiter: delimiter, path: path, line: number)
            cells.append(UnsafeBufferPointer(rebasing: line[i..<cellEnd]))
            guard let next else { break }
            i = next
            if i > n { break }
        }
        return cells
    }

    /// Where the cell starting at `i` ends and where the next one starts (nil at the end of the
    /// line). A cell that opens with `"` (after spaces) runs to the closing quote (`""` is a
    /// quote inside); text between the closing quote and the delimiter is an error.
    static func scanCell(
        _ p: UnsafeBufferPointer<UInt8>, from i: Int, delimiter: UInt8, path: String, line number: Int
    ) throws(TraceError) -> (end: Int, next: Int?) {
        let n = p.count
        var j = i
        while j < n, p[j] == 32 || p[j] == 9, p[j] != delimiter { j += 1 }
        if j < n, p[j] == 34 {
            j += 1
            while true {
                guard j < n else {
                    throw TraceError(
                        .badCell, path: path, line: number, "a quote opened in a cell is never closed")
                }
                if p[j] == 34 {
                    if j + 1 < n, p[j + 1] == 34 {
                        j += 2
                        continue
                    }
                    break
                }
                j += 1
            }
            j += 1
            while j < n, p[j] != delimiter {
                guard p[j] == 32 || p[j] == 9 || p[j] == 13 else {
                    throw TraceError(
                        .badCell, path: path, line: number, "text after the closing quote of a quoted cell")
                }
                j += 1
            }
        } else {
            while j < n, p[j] != delimiter { j += 1 }
        }
        return (j, j < n ? j + 1 : nil)
    }

    static func isTime(_ n: String) -> Bool {
        n == "t" || n.hasPrefix("time") || n.hasPrefix("t_") || n.hasPrefix("t ") || n.hasPrefix("t(")
            || n.hasPrefix("t[") || n == "seconds" || n == "secs"
    }

    /// Seconds per unit of a time column, or nil when its name gives no unit.
    static func timeScale(_ n: String) -> Double? {
        let compact = n.filter { $0 != " " }
        func names(_ unit: String) -> Bool {
            compact.hasSuffix("_" + unit) || compact.contains("(" + unit + ")")
                || compact.contains("[" + unit + "]")
        }
        if names("ms") { return 1e-3 }
        if names("us") || names("µs") { return 1e-6 }
        if names("ns") { return 1e-9 }
        if names("s") || names("sec") || names("secs") || compact == "seconds" || compact == "secs" {
            return 1
        }
        return nil
    }

    /// The unit a column name gives, or nil when it names none.
    static func unit(_ n: String) -> AccelerationUnit? {
        let compact = n.filter { $0 != " " }
        for m in [
            "m/s^2", "m/s²", "m/s2", "ms^-2", "ms-2", "_ms2", "m_s2", "mps2", "(ms2)", "[ms2]", "m/s/s",
        ]
        where compact.contains(m) {
            return .metersPerSecondSquared
        }
        if compact.hasSuffix("_mg") || compact.contains("(mg)") || compact.contains("[mg]") { return .milliG }
        if compact.hasSuffix("_g") || compact.contains("(g)") || compact.contains("[g]") { return .g }
        // `axg`, `acc_x_g`: an axis letter followed by g.
        if compact.count >= 2, compact.hasSuffix("g"), let l = compact.dropLast().last, "xyz".contains(l) {
            return .g
        }
        return nil
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
    let strict: Bool
    let ti: Int
    let xi: Int
    let yi: Int
    let zi: Int
    let maxIndex: Int
    private(set) var timeScale: Double
    /// False while the time column's unit is still to be decided from the first samples.
    private var timeScaleKnown: Bool
    private(set) var sx: Double
    private(set) var sy: Double
    private(set) var sz: Double

    /// Look-ahead ring used only at the start (to measure the rate).
    private let ahead: UnsafeMutablePointer<Sample>
    /// The line of each look-ahead sample (for rows dropped when the time unit is decided).
    private var aheadLines: [Int] = []
    /// The time of the last sample produced, in its current unit: samples come out strictly
    /// increasing even when two distinct huge timestamps differ by less than the rounding of
    /// `time - first`.
    private var lastTime = -Double.infinity
    private(set) var bufferedCount = 0
    private var bufferedNext = 0
    var pendingError: TraceError? = nil
    private(set) var delivered = 0
    private(set) var firstRaw = 0.0
    private var previousRaw = -Double.infinity
    private var haveFirst = false
    private(set) var skipped = SkippedRows()
    /// While the time unit is unknown: the first step back bigger than 1 s for each candidate
    /// unit (s, ms, us, ns), as (buffered samples before it, line, step in file units).
    private var deferredBackSteps: [(index: Int, line: Int, step: Double)?] = [nil, nil, nil, nil]
    private static let candidateScales: [Double] = [1, 1e-3, 1e-6, 1e-9]

    init(input: LineInput, header: Header, strict: Bool) {
        self.input = input
        path = input.path
        self.strict = strict
        delimiter = header.delimiter
        decimalComma = header.delimiter == 59
        ti = header.timeIndex
        (xi, yi, zi) = header.axisIndex
        maxIndex = max(ti, xi, yi, zi)
        timeScale = header.timeScale ?? 1
        timeScaleKnown = header.timeScale != nil
        // Axis units are applied once decided (after the look-ahead): until then values stay as written.
        (sx, sy, sz) = (1, 1, 1)
        ahead = .allocate(capacity: TraceReader.lookahead)
        aheadLines.reserveCapacity(TraceReader.lookahead)
    }

    deinit { ahead.deallocate() }

    func prime() throws(TraceError) {
        while bufferedCount < TraceReader.lookahead {
            do {
                guard let s = try parseNext() else { break }
                ahead[bufferedCount] = s
                aheadLines.append(input.lineNumber)
                bufferedCount += 1
            } catch {
                pendingError = error
                break
            }
        }
    }

    func medianRate() -> Double {
        guard bufferedCount >= 2 else { return 0 }
        var intervals: [Double] = []
        intervals.reserveCapacity(bufferedCount)
        for i in 1..<bufferedCount { intervals.append(ahead[i].time - ahead[i - 1].time) }
        intervals.sort()
        let m = intervals.count
        let median = m % 2 == 1 ? intervals[m / 2] : (intervals[m / 2 - 1] + intervals[m / 2]) / 2
        let rate = median > 0 ? 1 / median : 0
        return rate.isFinite ? rate : 0
    }

    /// Decides the time column's unit from the look-ahead when its name gives none: the unit
    /// (s, ms, us, ns) that makes the median step a sample rate of 5 Hz or more. Rescales what
    /// was buffered; returns a note saying what was assumed and why (nil for plain seconds).
    func decideTimeScale(column: String) -> String? {
        let steps = medianRate()
        guard steps > 0 else { return nil }
        let medianStep = 1 / steps
        var chosen = 0
        for (k, scale) in Self.candidateScales.enumerated() where medianStep * scale <= 0.2 {
            chosen = k
            break
        }
        let scale = Self.candidateScales[chosen]
        timeScaleKnown = true
        // A step back that is more than a second in the chosen unit ends the reading there.
        if let back = deferredBackSteps[chosen] {
            let e = TraceError(
                .nonMonotonic, path: path, line: back.line,
                "time jumps back by \(back.step * scale) s; only steps back of up to "
                    + "\(fixedText(TraceReader.maxBackwardStep)) s are skipped as jitter")
            bufferedCount = back.index
            pendingError = e
        }
        guard chosen != 0 else { return nil }
        timeScale = scale
        firstRaw *= scale
        previousRaw *= scale
        // Rescaling can round two neighbouring times to one: such a row counts as a duplicate.
        var kept = 0
        var last = -Double.infinity
        for i in 0..<bufferedCount {
            var s = ahead[i]
            s.time *= scale
            if s.time > last {
                ahead[kept] = s
                kept += 1
                last = s.time
            } else {
                skipped.add(.duplicateTime, line: aheadLines[i])
            }
        }
        bufferedCount = kept
        lastTime = last
        let unit = ["s", "ms", "us", "ns"][chosen]
        let stepText = medianStep >= 1e6 ? fixedText(medianStep, 0) : String(medianStep)
        let epoch = firstRaw >= 1e9 ? ", Unix time" : ""
        return "time column '\(column)' names no unit; a median step of \(stepText) is "
            + "\(fixedText(1 / (medianStep * scale), 1)) Hz in \(unit)\(epoch), so it is read as \(unit)"
    }

    /// Decides the acceleration unit: `forced`, else what the header names (an unnamed axis takes
    /// a named one's unit), else gravity: a resting limb's median |a| is about 1 g, 9.8 m/s^2 or
    /// 1000 mg. Scales what was buffered; returns the unit and a note when the header did not say.
    func decideUnits(header: Header, forced: AccelerationUnit?) -> (AccelerationUnit, String?) {
        let named = [header.axisUnits.0, header.axisUnits.1, header.axisUnits.2]
        var unit: AccelerationUnit
        var note: String? = nil
        var perAxis: [AccelerationUnit]
        if let forced {
            unit = forced
            perAxis = [forced, forced, forced]
            note = "units \(forced.rawValue) as given (--units)"
        } else if let first = named.compactMap({ $0 }).first {
            unit = header.axisUnits.0 ?? first
            perAxis = named.map { $0 ?? first }
        } else {
            var mags: [Double] = []
            mags.reserveCapacity(bufferedCount)
            for i in 0..<bufferedCount { mags.append(ahead[i].acceleration.magnitude) }
            mags.sort()
            let median = mags.isEmpty ? 0 : mags[mags.count / 2]
            let shown = fixedText(median, median >= 100 ? 0 : 2)
            if (0.5...2).contains(median) {
                unit = .g
                note = "no unit in the header; median |a| \(shown) is gravity in g"
            } else if (4.9...19.6).contains(median) {
                unit = .metersPerSecondSquared
                note = "no unit in the header; median |a| \(shown) is gravity in m/s^2"
            } else if (500...2000).contains(median) {
                unit = .milliG
                note = "no unit in the header; median |a| \(shown) is gravity in mg"
            } else {
                unit = .g
                note =
                    "no unit in the header and median |a| \(shown) is not gravity in g, m/s^2 or mg "
                    + "(gravity removed?); assumed g: give --units if that is wrong"
            }
            perAxis = [unit, unit, unit]
        }
        (sx, sy, sz) = (perAxis[0].toG, perAxis[1].toG, perAxis[2].toG)
        for i in 0..<bufferedCount {
            let a = ahead[i].acceleration
            ahead[i] = Sample(time: ahead[i].time, x: a.x * sx, y: a.y * sy, z: a.z * sz)
        }
        return (unit, note)
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

    /// Counts a row skipped for `reason`, or throws `error` when reading strictly.
    @inline(__always)
    private func skip(_ reason: SkippedRows.Reason, _ error: @autoclosure () -> TraceError) throws(TraceError)
    {
        if strict { throw error() }
        skipped.add(reason, line: input.lineNumber)
    }

    /// Parses one data line; nil for a blank or comment line, or a skipped row.
    @inline(__always)
    private func parse(_ p: UnsafePointer<UInt8>, _ n: Int) throws(TraceError) -> Sample? {
        var t = 0.0
        var x = 0.0
        var y = 0.0
        var z = 0.0
        var cell = 0
        var i = 0
        var missing = false
        // Blank (whitespace only) and comment lines are skipped.
        var k = 0
        while k < n, p[k] == 32 || p[k] == 9 || p[k] == 13 { k += 1 }
        if k == n || p[k] == 35 { return nil }
        while cell <= maxIndex {
            var j = i
            var q = i
            while q < n, p[q] == 32 { q += 1 }
            if q < n, p[q] == 34 {
                // A quoted cell: the delimiter inside quotes is text.
                let (end, _) = try Header.scanCell(
                    UnsafeBufferPointer(start: p, count: n), from: i, delimiter: delimiter, path: path,
                    line: input.lineNumber)
                j = end
            } else {
                while j < n, p[j] != delimiter { j += 1 }
            }
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
                    if NumberParser.isBlank(p + i, j - i) {
                        missing = true
                        if strict { throw cellError(p, i, j, cell, "is not a number") }
                    } else if (i..<j).contains(where: { p[$0] == delimiter }) {
                        throw cellError(
                            p, i, j, cell,
                            "is a quoted number holding the cell separator ','; a decimal comma in a "
                                + "comma-separated file is ambiguous: export with '.' as the decimal "
                                + "point, or with ';' between cells")
                    } else {
                        throw cellError(p, i, j, cell, "is not a number")
                    }
                case .nonFinite:
                    missing = true
                    if strict {
                        throw TraceError(
                            .nonFinite, path: path, line: input.lineNumber,
                            "column \(cell + 1) is \(cellText(p, i, j)); samples must be finite numbers")
                    }
                }
            }
            cell += 1
            if j >= n {
                if cell <= maxIndex {
                    try skip(
                        .shortRow,
                        TraceError(
                            .badCell, path: path, line: input.lineNumber,
                            "row has \(cell) cells, expected at least \(maxIndex + 1)"))
                    return nil
                }
                break
            }
            i = j + 1
        }
        if missing {
            skipped.add(.missingValue, line: input.lineNumber)
            return nil
        }
        let raw = t * timeScale
        if !(raw > previousRaw) {
            let back = previousRaw - raw
            let what =
                raw == previousRaw
                ? "time \(raw) s is the same as the previous sample's; timestamps must increase"
                : "time \(raw) s is before the previous sample's \(previousRaw) s; timestamps must increase"
            let error = TraceError(.nonMonotonic, path: path, line: input.lineNumber, what)
            if strict { throw error }
            if back == 0 {
                skipped.add(.duplicateTime, line: input.lineNumber)
                return nil
            }
            if timeScaleKnown {
                if !(back <= TraceReader.maxBackwardStep) {
                    throw TraceError(
                        .nonMonotonic, path: path, line: input.lineNumber,
                        "time jumps back by \(back) s (from \(previousRaw) to \(raw)); only steps back "
                            + "of up to \(fixedText(TraceReader.maxBackwardStep)) s are skipped as jitter")
                }
            } else {
                for (c, scale) in Self.candidateScales.enumerated()
                where deferredBackSteps[c] == nil && !(back * scale <= TraceReader.maxBackwardStep) {
                    deferredBackSteps[c] = (bufferedCount, input.lineNumber, back)
                }
            }
            skipped.add(.backwardTime, line: input.lineNumber)
            return nil
        }
        if !haveFirst {
            haveFirst = true
            firstRaw = raw
        }
        let time = raw - firstRaw
        if !(time > lastTime) {
            // Distinct in the file, equal once rounded (timestamps near 1e16 and beyond).
            try skip(
                .duplicateTime,
                TraceError(
                    .nonMonotonic, path: path, line: input.lineNumber,
                    "time \(raw) s rounds to the previous sample's time; timestamps must increase"))
            return nil
        }
        previousRaw = raw
        lastTime = time
        return Sample(time: time, x: x * sx, y: y * sy, z: z * sz)
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

/// `value` with `decimals` digits after the point (locale-free), for messages.
func fixedText(_ value: Double, _ decimals: Int = 1) -> String {
    fixed(value, decimals)
}
