public import TwitchCore

/// Samples from a device's own file format, in blocks (one implementation per format).
protocol DeviceSampleSource: AnyObject {
    /// Fills `buffer` from the start; returns how many samples, 0 only at the end.
    func read(into buffer: UnsafeMutableBufferPointer<Sample>) throws(TraceError) -> Int
    /// What the file says about itself.
    var info: DeviceInfo { get }
    /// Rows, records or blocks skipped so far, by reason.
    var skipped: [SkipCount] { get }
    /// The lowest and highest temperature the device logged, in degrees Celsius.
    var temperatureRange: ClosedRange<Double>? { get }
}

/// What a device file's header says.
struct DeviceInfo {
    var format: TraceFormat
    var device: String?
    var serial: String?
    /// Unix time (UTC) of the first sample.
    var startTime: Double?
    /// The device clock's offset from UTC in seconds, when the file records it.
    var utcOffset: Int?
    var nominalRate: Double?
    var metadata = TraceMetadata()
}

/// How many rows, records or blocks a reader skipped for one reason (a checksum that does not
/// match, a record cut short at the end of the file, ...).
public struct SkipCount: Sendable, Equatable {
    /// Why, in a few words (`checksum`, `truncated record`, ...).
    public var reason: String
    /// How many.
    public var count: Int

    public init(reason: String, count: Int) {
        self.reason = reason
        self.count = count
    }
}

/// Any recording twitchd reads: the format is decided from the file's first bytes, not its name.
///
/// - `Device Identity` text: GENEActiv `.bin` (``GENEActivReader``)
/// - `MD` header block: Axivity `.cwa` (``AxivityReader``)
/// - a zip holding `log.bin` and `info.txt`: ActiGraph `.gt3x` (``ActiGraphReader``)
/// - any other zip: a phyphox export (the first CSV inside with a time column and three axes;
///   `meta/time.csv` gives the absolute start), or another app's zipped CSV read the same way
/// - anything else (plain or gzip): generic or phyphox CSV (``TraceReader``)
///
/// Every reader streams in fixed buffers: memory does not grow with the file. Samples come out
/// with `time` in seconds after the first sample and acceleration in g; a hole in the recording
/// (missing blocks, a device asleep) is a jump in `time`.
public final class Recording {
    /// The path as given.
    public let path: String
    public let format: TraceFormat
    /// True for gzip-compressed CSV and for zip archives.
    public let compressed: Bool
    /// `# key=value` metadata (CSV) or what the device header holds (`location`, ...).
    public let metadata: TraceMetadata
    /// The device model, when the format records it (`GENEActiv 1.1`, `AX3`, `wGT3XBT`).
    public let device: String?
    /// The device's serial number, when the format records it.
    public let serial: String?
    /// Unix time (UTC) of the first sample, when the recording has absolute time.
    public let startTime: Double?
    /// The offset from UTC, in seconds, of the clock the device recorded in, when known.
    public let utcOffset: Int?
    /// The rate the device was set to, when the format says.
    public let nominalRate: Double?
    /// Sample rate in Hz measured from the first samples' timestamps (1 / median interval).
    public let sampleRate: Double

    private let csv: TraceReader?
    private let source: (any DeviceSampleSource)?
    private let ahead: UnsafeMutableBufferPointer<Sample>
    private var aheadCount = 0
    private var aheadNext = 0
    private var pending: TraceError?
    public private(set) var samplesRead = 0

    /// How many samples are looked at to measure the rate.
    public static let lookahead = 4096

    /// Opens `path` (`-`: standard input, CSV only) and reads enough to know the format and rate.
    /// `options` (tolerance, units) apply to CSV content, plain or inside a zip.
    public init(path: String, options: TraceReadOptions = TraceReadOptions()) throws(TraceError) {
        self.path = path
        var head: [UInt8] = []
        var file: FileHandle? = nil
        if path != "-" {
            let f = try FileHandle(path: path)
            head = try f.bytes(at: 0, count: 64)
            file = f
        }
        ahead = .allocate(capacity: Recording.lookahead)
        let device: (any DeviceSampleSource)?
        var csvReader: TraceReader? = nil
        var zipStart: Double? = nil
        var isZip = false
        do {
            if file != nil, GENEActivReader.looksLikeGENEActiv(head) {
                device = try GENEActivReader(path: path)
            } else if let file, AxivityReader.looksLikeAxivity(head) {
                device = try AxivityReader(file: file)
            } else if let file, ZipArchive.looksLikeZip(head) {
                isZip = true
                let zip = try ZipArchive(file: file)
                if zip.entry("log.bin") != nil, zip.entry("info.txt") != nil {
                    device = try ActiGraphReader(zip: zip)
                } else {
                    device = nil
                    (csvReader, zipStart) = try Recording.openPhyphoxZip(zip, options: options)
                }
            } else {
                device = nil
                csvReader = try TraceReader(path: path, options: options)
            }
        } catch {
            ahead.deallocate()
            throw error
        }
        source = device
        csv = csvReader
        if let device {
            let info = device.info
            format = info.format
            compressed = isZip
            metadata = info.metadata
            self.device = info.device
            serial = info.serial
            startTime = info.startTime
            utcOffset = info.utcOffset
            nominalRate = info.nominalRate
        } else if let r = csvReader {
            // A zip is a phyphox export when it says so (its CSV header or meta/time.csv); a zip
            // of some other app's CSV is that CSV.
            format = isZip && (r.format == .phyphox || zipStart != nil) ? .phyphoxZip : r.format
            compressed = isZip || r.compressed
            metadata = r.metadata
            self.device = r.metadata.sensor
            serial = nil
            startTime = zipStart ?? r.startTime
            utcOffset = nil
            nominalRate = r.metadata.nominalRate
        } else {
            // Unreachable: one of the two is always set above.
            ahead.deallocate()
            throw TraceError(.unknownHeader, path: path, "unknown format")
        }
        if let r = csvReader {
            sampleRate = r.sampleRate
            return
        }
        // Device formats: measure the rate from the first samples, as the CSV reader does.
        while aheadCount < Recording.lookahead {
            let room = UnsafeMutableBufferPointer(rebasing: ahead[aheadCount...])
            let n: Int
            do { n = try device?.read(into: room) ?? 0 } catch {
                pending = error
                break
            }
            if n == 0 { break }
            aheadCount += n
        }
        guard aheadCount >= 2 else {
            ahead.deallocate()
            if let pending { throw pending }
            throw TraceError(.empty, path: path, aheadCount == 0 ? "no samples" : "only one sample")
        }
        var intervals: [Double] = []
        intervals.reserveCapacity(aheadCount)
        for i in 1..<aheadCount { intervals.append(ahead[i].time - ahead[i - 1].time) }
        intervals.sort()
        let median = intervals[intervals.count / 2]
        sampleRate = median > 0 ? 1 / median : 0
    }

    deinit { ahead.deallocate() }

    /// Rows, records or blocks skipped so far, by reason.
    public var skipped: [SkipCount] {
        if let rows = csv?.skipped {
            return SkippedRows.Reason.allCases.compactMap { r in
                rows[r] > 0 ? SkipCount(reason: r.rawValue, count: rows[r]) : nil
            }
        }
        return source?.skipped ?? []
    }

    /// What was skipped, in words (with the first line of each reason, for CSV), or nil if nothing.
    public var skippedDescription: String? {
        if let rows = csv?.skipped { return rows.total > 0 ? rows.description : nil }
        let s = skipped
        guard !s.isEmpty else { return nil }
        return s.map { "\($0.count) \($0.reason)" }.joined(separator: ", ") + " skipped"
    }

    /// How the CSV's acceleration unit and time unit were decided, when the header did not say.
    public var unitsNote: String? { csv?.unitsNote }
    public var timeNote: String? { csv?.timeNote }

    /// The lowest and highest temperature the device logged (GENEActiv, Axivity), in degrees C.
    public var temperatureRange: ClosedRange<Double>? { source?.temperatureRange }

    /// 1-based line of the CSV last read, for CSV inputs.
    public var line: Int? { csv?.line }

    /// Fills `buffer` from the start with up to `buffer.count` samples and returns how many.
    /// Returns 0 only at the end. If an error is found after some samples were stored, those are
    /// returned first and the error is thrown by the following call.
    public func read(into buffer: UnsafeMutableBufferPointer<Sample>) throws(TraceError) -> Int {
        if var r = csv {
            let n = try r.read(into: buffer)
            samplesRead = r.samplesRead
            return n
        }
        var n = 0
        if aheadNext < aheadCount {
            n = min(buffer.count, aheadCount - aheadNext)
            for k in 0..<n { buffer[k] = ahead[aheadNext + k] }
            aheadNext += n
            samplesRead += n
            return n
        }
        if let e = pending {
            pending = nil
            throw e
        }
        guard let source else { return 0 }
        n = try source.read(into: buffer)
        samplesRead += n
        return n
    }

    /// A phyphox export: the first CSV (outside `meta/`) whose header names time and three
    /// axes, and the system time of its START event from `meta/time.csv`.
    static func openPhyphoxZip(_ zip: ZipArchive, options: TraceReadOptions) throws(TraceError) -> (
        TraceReader, Double?
    ) {
        let path = zip.file.path
        var start: Double? = nil
        if let meta = zip.entry("meta/time.csv") {
            start = try phyphoxStart(zip: zip, entry: meta)
        }
        var firstError: TraceError? = nil
        let candidates = zip.entries.filter {
            $0.name.lowercased().hasSuffix(".csv") && !$0.name.lowercased().hasPrefix("meta/")
        }
        for entry in candidates {
            let source = try zip.open(entry)
            let input = LineInput(path: path + ":" + entry.name, source: source)
            do {
                let reader = try TraceReader(path: path + ":" + entry.name, input: input, options: options)
                // The START event's system time is the experiment's time 0.
                return (reader, start.map { $0 + reader.firstTimestamp })
            } catch {
                if error.kind != .unknownHeader { throw error }
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        throw TraceError(
            .unknownHeader, path: path,
            "zip archive holds no CSV with a time column and three axes (entries: \(zip.entries.map(\.name).joined(separator: ", ")))"
        )
    }

    /// `meta/time.csv`: `"event","experiment time","system time","system time text"`; the
    /// START row's system time in Unix seconds, minus its experiment time.
    static func phyphoxStart(zip: ZipArchive, entry: ZipArchive.Entry) throws(TraceError) -> Double? {
        let input = LineInput(path: zip.file.path + ":" + entry.name, source: try zip.open(entry))
        while let line = try input.nextLine() {
            let text = String(decoding: line, as: UTF8.self)
            let cells = text.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingQuotes()
            }
            guard cells.count >= 3, cells[0].uppercased() == "START" else { continue }
            guard let experiment = Double(cells[1]), let system = Double(cells[2]), experiment.isFinite,
                system.isFinite, system > 0
            else {
                throw TraceError(
                    .badMetadata, path: input.path, line: input.lineNumber,
                    "START row has no experiment and system time: '\(text)'")
            }
            return system - experiment
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingQuotes() -> String {
        var t = self
        while let f = t.first, f == " " || f == "\"" || f == "\t" { t = t.dropFirst() }
        while let l = t.last, l == " " || l == "\"" || l == "\r" || l == "\t" { t = t.dropLast() }
        return String(t)
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
@inline(__always)
func civilDays(_ year: Int, _ month: Int, _ day: Int) -> Int {
    RFC3339.daysFromCivil(year: year, month: month, day: day)
}
