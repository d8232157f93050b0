import ArgumentParser
import Detector
import Traces
import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `twitchd replay`: finds the twitches in recorded traces.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Find the twitches in recorded accelerometer traces.",
        discussion: """
            Runs the same detector as the daemon over one or more recordings and prints every \
            twitch: when (seconds after the trace's first sample, and UTC when the trace has \
            absolute time), how long, how strong (peak mg), along which axis, at what frequency, \
            its signal-to-noise ratio and the detector's confidence. The text format ends each \
            file with a summary: twitches, twitches per hour of rest, time at rest and active, \
            the largest twitch and the busiest minute.

            Examples:
              twitchd replay calf.csv.gz
              twitchd replay --format jsonl night1.csv.gz night2.csv.gz > events.jsonl
              twitchd replay --sensitivity high --location left-calf phone.csv
              twitchd replay --explain calf.csv.gz     (why each candidate was kept or dropped)
              twitchd simulate -o sim.csv.gz && twitchd replay sim.csv.gz
              twitchd simulate --duration 5m | twitchd replay --format jsonl -
              twitchd replay --units m/s2 sensorlogger.csv      header 'time,x,y,z' in m/s^2
              twitchd replay --strict phone.csv                 refuse any duplicate or NaN row
              twitchd replay wrist.bin          (GENEActiv .bin; also .cwa, .gt3x, .zip)
              twitchd replay --summary csv study/ > study.csv
              twitchd replay --summary json --jobs 2 a.cwa b.gt3x

            Input formats (plain or gzip-compressed; detected from the content):
              generic CSV   optional '# key=value' lines (sensor, rate_hz, location, start_time \
            in RFC 3339 or start_unix), then a header naming a time column in seconds and three \
            axes, e.g. time_s,ax_g,ay_g,az_g. Units are g unless the header says m/s^2 \
            (ax_ms2, 'x (m/s^2)') or mg (ax_mg). Commas, tabs or semicolons separate cells.
              phyphox       the CSV the phyphox phone app exports: "Time (s)","Acceleration x \
            (m/s^2)",... with irregular timestamps.
              phyphox zip   a phyphox export archive: the CSV inside, meta/time.csv for the \
            absolute start.
              GENEActiv .bin, Axivity .cwa (AX3/AX6), ActiGraph .gt3x   the devices' own files, \
            calibrated and timed as their makers document; blocks or records with a bad checksum \
            are skipped and counted, holes between them stay holes (gap time).
            The sample rate is measured from the timestamps (median interval); rate_hz is only \
            informative. A time column in Unix epoch seconds also gives absolute time. Below 50 Hz \
            twitches cannot be seen: such a recording gets its rest, activity and gap time and \
            the words 'twitches are not counted'.

            Summary (--summary json|csv): instead of the twitches, one object or row per file \
            (folders are searched recursively for .csv .csv.gz .txt .bin .cwa .gt3x .zip): file, \
            format, device, serial, start and end (UTC) and start_local, duration, measured rate, \
            rest/active/not-worn/gap seconds, twitches and twitches per hour of rest, median and \
            90th-percentile peak, rows skipped and why, version and detector settings. --jobs N \
            (default: all cores) replays N files at once; the rows keep the input's order. Fields: \
            docs/event.schema.json.

            Units the header does not name are decided and said on standard error: acceleration \
            from gravity (a resting limb's median |a| is about 1 g, 9.8 m/s^2 or 1000 mg; \
            --units overrides), time from the size of its steps (s, ms, us or ns, e.g. the \
            Sensor Logger app's nanosecond 'time').

            What real loggers get wrong is skipped and counted, not fatal: rows with the same \
            timestamp as the one before (phyphox keeps 7 significant digits), timestamps up to \
            1 s before the latest, empty or NaN cells, rows cut short. The summary and standard \
            error say how many rows were skipped and why; --strict refuses such a file instead.

            Output formats (--format):
              text    one aligned line per twitch, then a summary (for people; the default)
              jsonl   one JSON object per twitch: offset_s, time (when known), duration_ms, \
            peak_mg, axis, freq_hz, snr, confidence, location, and file when several files
              csv     a header line, then the same fields as jsonl, one row per twitch

            Sensitivity (--sensitivity low|normal|high or a number 0...1, default normal): \
            higher finds smaller twitches closer to the sensor's noise floor and accepts more \
            false alarms; lower reports only clear twitches.

            Exit status: 0 all files read; 64 bad option; 65 a file's content is wrong (empty, \
            unknown header, a cell that is not a number, time jumping back by more than 1 s, \
            truncated gzip, a sample rate the detector cannot use; with --strict also NaN, \
            empty cells and any time not increasing); 66 a file is missing or unreadable; 74 \
            writing the output failed (full disk; a closed pipe such as '| head' just stops). Errors name the file and line; the twitches found before an error are \
            still printed, and JSON lines are never cut in half. Progress is shown on a \
            terminal for long files, never when standard error is redirected.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, jsonl, csv
    }

    @Argument(
        help:
            "Recordings (.csv, .csv.gz, phyphox .zip, .bin, .cwa, .gt3x; folders with --summary); '-' reads standard input."
    )
    var files: [String]

    @Option(help: "Output: text, jsonl or csv.")
    var format: Format = .text

    @Option(help: "Location label for the events (default: the trace's location metadata, else 'unknown').")
    var location: String?

    @Option(help: "low, normal, high, or a number in 0...1.")
    var sensitivity: String = "normal"

    @Option(help: "Acceleration unit of the file: g, mg or m/s2 (default: the header's, else from gravity).")
    var units: String?

    @Flag(help: "Refuse a file with duplicate or backward timestamps, empty or NaN cells or short rows.")
    var strict = false

    /// `--units` as a unit (nil when not given or not understood).
    static func parseUnits(_ text: String) -> AccelerationUnit? {
        switch text.lowercased().filter({ $0 != " " }) {
        case "g": return .g
        case "mg": return .milliG
        case "m/s2", "m/s^2", "ms2", "m/s²", "mps2": return .metersPerSecondSquared
        default: return nil
        }
    }

    @Option(help: "Print one summary per recording instead of the twitches: json or csv.")
    var summary: SummaryFormat?

    @Option(help: "With --summary: replay this many files at once (default: all cores).")
    var jobs: Int?

    @Flag(help: .hidden)
    var decodeOnly = false

    @Flag(
        help: ArgumentHelp(
            "Also print every candidate, its measurements and the rule that kept or dropped it.",
            discussion:
                "One line per candidate on standard output ('# candidate ...' in text and csv, a JSON object with \"candidate\" in jsonl), in the order decided."
        ))
    var explain = false

    func validate() throws {
        guard Sensitivity(parsing: sensitivity) != nil else {
            throw ValidationError(
                "--sensitivity '\(sensitivity)' is not low, normal, high or a number in 0...1")
        }
        guard !files.isEmpty else { throw ValidationError("give at least one trace file") }
        if let units, Replay.parseUnits(units) == nil {
            throw ValidationError("--units '\(units)' is not g, mg or m/s2")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        if decodeOnly {
            try decodeFiles(Replay.expand(files))
            return
        }
        if let summary {
            try await runSummaries(summary, paths: Replay.expand(files))
            return
        }
        signal(SIGPIPE, SIG_IGN)
        let out = OutputStream(fd: 1)
        let showProgress = isatty(2) == 1
        let several = files.count > 1
        var failure: Int32 = 0
        var totals = Summary()
        if format == .csv {
            out.append(
                "offset_s,time,duration_ms,peak_mg,axis,freq_hz,snr,confidence,location"
                    + (several ? ",file" : "") + "\n")
        }
        for path in files {
            let (summary, error) = replay(path: path, out: out, several: several, progress: showProgress)
            if let summary {
                if format == .text { out.append(summary.text(path: path)) }
                totals.merge(summary)
            }
            out.flush()
            if let error {
                writeStandardError("twitchd replay: \(error)\n")
                if failure == 0 { failure = error.code }
            }
            if out.broken { break }
        }
        if format == .text, several, totals.files > 1 {
            out.append(totals.totalText())
        }
        out.flush()
        // A write that failed (full disk, /dev/full) is an error; a closed pipe is not.
        StandardOutput.record(out.writeErrno)
        try StandardOutput.check("twitchd replay")
        if failure != 0 { throw ExitCode(failure) }
    }

    struct ReplayFailure: CustomStringConvertible {
        var description: String
        var code: Int32
    }

    /// Replays one file; returns its summary (nil when it could not be opened) and the error, if any.
    /// `quiet`: find the summary only, print nothing (for `--summary`).
    func replay(
        path: String, out: OutputStream, several: Bool, progress: Bool, quiet: Bool = false
    ) -> (Summary?, ReplayFailure?) {
        let reader: Recording
        let options = TraceReadOptions(strict: strict, units: units.flatMap(Replay.parseUnits))
        do { reader = try Recording(path: path, options: options) } catch {
            return (nil, ReplayFailure(description: error.description, code: error.exitCode.rawValue))
        }
        let label = location ?? reader.metadata.location ?? "unknown"
        var feed = DetectorFeed(rate: reader.sampleRate)
        let config = DetectorConfiguration(
            sampleRate: reader.sampleRate * Double(feed.factor),
            sensitivity: Sensitivity(parsing: sensitivity) ?? .normal, location: label, explain: explain)
        var detector: TwitchDetector
        do { detector = try TwitchDetector(configuration: config) } catch {
            return (
                nil,
                ReplayFailure(
                    description: "\(path): \(error.description) (measured from the timestamps)",
                    code: SysExit.dataErr.rawValue)
            )
        }
        var summary = Summary()
        summary.files = 1
        summary.rate = reader.sampleRate
        summary.sensor = reader.metadata.sensor
        summary.location = label
        summary.start = reader.startTime
        summary.counter = ExposureCounter(state: detector.state, at: 0)
        summary.facts = RecordingFacts(reader, feed: feed, config: config)
        let emitter = Emitter(
            format: format, out: out, start: reader.startTime, file: several ? path : nil)
        // Units the file does not name were decided from the data: say so, before any event.
        for note in [reader.timeNote, reader.unitsNote].compactMap({ $0 }) {
            writeStandardError("twitchd replay: \(path): \(note)\n")
        }
        if format == .text, !quiet {
            out.append(emitter.textHeader(path: path, reader: reader, location: label))
        }

        let meter = progress ? Progress(path: path) : nil
        let capacity = 4096
        let buffer = UnsafeMutableBufferPointer<Sample>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var failure: ReplayFailure? = nil
        var lastTime = 0.0
        let countsTwitches = feed.countsTwitches
        func handle(_ output: DetectorOutput) {
            switch output {
            case .twitch(let e):
                guard countsTwitches else { return }
                summary.add(e)
                if !quiet { emitter.emit(e) }
            case .state(let change):
                summary.change(to: change.state, at: change.time)
                if explain { emitter.explain(change) }
            case .gap(let gap):
                summary.counter.gap(from: gap.from, to: gap.to)
            case .candidate(let report):
                emitter.explain(report)
            }
        }
        while true {
            let n: Int
            do { n = try reader.read(into: buffer) } catch {
                failure = ReplayFailure(description: error.description, code: error.exitCode.rawValue)
                break
            }
            if n == 0 { break }
            for k in 0..<n {
                feed.feed(buffer[k], gap: { summary.counter.gap(from: $0, to: $1) }) {
                    detector.process($0, handle)
                }
            }
            lastTime = buffer[n - 1].time
            if out.broken { break }
            meter?.update(traceSeconds: lastTime, samples: reader.samplesRead)
        }
        detector.finish(handle)
        meter?.clear()
        summary.end(at: lastTime, samples: reader.samplesRead)
        if let why = reader.skippedDescription {
            writeStandardError("twitchd replay: \(path): \(why) (--strict refuses them)\n")
        }
        summary.facts?.skipped = reader.skipped
        summary.facts?.skippedText = reader.skippedDescription
        summary.facts?.temperature = reader.temperatureRange
        if failure != nil { summary.incomplete = true }
        return (summary, failure)
    }
}

/// Buffered standard output that only ever writes whole lines, and notices a closed pipe.
final class OutputStream {
    private let fd: Int32
    private var bytes: [UInt8] = []
    /// True once a write failed (any reason, a closed pipe included): nothing more is written.
    private(set) var broken = false
    /// errno of the failed write, 0 while none failed.
    private(set) var writeErrno: Int32 = 0

    init(fd: Int32) {
        self.fd = fd
        bytes.reserveCapacity(1 << 16)
    }

    func append(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        if bytes.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !broken, !bytes.isEmpty else {
            bytes.removeAll(keepingCapacity: true)
            return
        }
        var done = 0
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while done < raw.count {
                let w = write(fd, base + done, raw.count - done)
                if w <= 0 {
                    if w < 0 && errno == EINTR { continue }
                    writeErrno = w < 0 ? errno : EIO
                    broken = true
                    return
                }
                done += w
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// Formats events as they come.
struct Emitter {
    let format: Replay.Format
    let out: OutputStream
    let start: Double?
    let file: String?

    func emit(_ e: TwitchEvent) {
        let time = start.map { RFC3339.format($0 + e.onset) }
        switch format {
        case .jsonl:
            var s = "{\"type\": \"twitch\", \"offset_s\": \(fixed(e.onset, 3))"
            if let time { s += ", \"time\": \"\(time)\"" }
            s += ", \"duration_ms\": \(fixed(e.durationMs, 1)), \"peak_mg\": \(fixed(e.peakMg, 2))"
            s += ", \"axis\": \"\(e.axis.rawValue)\", \"freq_hz\": \(fixed(e.frequencyHz, 1))"
            s += ", \"snr\": \(fixed(e.snr, 1)), \"confidence\": \(fixed(e.confidence, 2))"
            s += ", \"location\": \(jsonString(e.location))"
            if let file { s += ", \"file\": \(jsonString(file))" }
            out.append(s + "}\n")
        case .csv:
            var s = "\(fixed(e.onset, 3)),\(time ?? ""),\(fixed(e.durationMs, 1)),\(fixed(e.peakMg, 2)),"
            s += "\(e.axis.rawValue),\(fixed(e.frequencyHz, 1)),\(fixed(e.snr, 1)),\(fixed(e.confidence, 2)),"
            s += csvCell(e.location)
            if let file { s += "," + csvCell(file) }
            out.append(s + "\n")
        case .text:
            var s = "  " + pad(clock(e.onset), 12)
            if let time { s += "  " + time }
            s += "  " + pad(fixed(e.durationMs, 0) + " ms", 8)
            s += "  " + pad(fixed(e.peakMg, 1) + " mg", 10)
            s += "  " + pad(e.axis.rawValue, 4)
            s += "  " + pad(fixed(e.frequencyHz, 1) + " Hz", 8)
            s += "  " + pad(fixed(e.snr, 1), 5)
            s += "  " + pad(fixed(e.confidence, 2), 4)
            out.append(s + "\n")
        }
    }

    /// One candidate and its verdict (`--explain`).
    func explain(_ r: CandidateReport) {
        func v(_ x: Double, _ digits: Int) -> String { x.isFinite ? fixed(x, digits) : "null" }
        let fields: [(String, String)] = [
            ("onset_s", v(r.onset, 3)), ("duration_ms", v(r.duration * 1000, 1)), ("peak_mg", v(r.peakMg, 2)),
            ("snr", v(r.snr, 2)), ("floor_mg", v(r.floorMg, 2)), ("freq_hz", v(r.frequency, 1)),
            ("half_cycles", v(r.halfCycles, 0)), ("knock_ratio", v(r.knockRatio, 3)),
            ("knock_excess", v(r.knockExcess, 3)), ("concentration", v(r.concentration, 3)),
            ("spikiness", v(r.spikiness, 3)), ("polarization", v(r.polarization, 3)),
            ("second_axis", v(r.secondAxisOverNoise, 2)),
            ("tremor_index", v(r.tremorIndex, 2)), ("floor_elevation", v(r.floorElevation, 2)),
            ("recent_movement_mg", v(r.recentMovementMg, 2)),
            ("movement_baseline_mg", v(r.movementBaselineMg, 2)),
            ("after_movement_mg", v(r.afterMovementMg, 2)),
            ("orientation_change_mg", v(r.orientationChangeMg, 2)),
            ("orientation_limit_mg", v(r.orientationLimitMg, 2)),
        ]
        switch format {
        case .jsonl:
            var s = "{\"candidate\": \"\(r.verdict.rawValue)\""
            for (k, x) in fields { s += ", \"\(k)\": \(x)" }
            if let file { s += ", \"file\": \(jsonString(file))" }
            out.append(s + "}\n")
        case .csv, .text:
            var s = "# candidate \(r.verdict.rawValue)"
            for (k, x) in fields where x != "null" { s += " \(k)=\(x)" }
            out.append(s + "\n")
        }
    }

    /// A change of the limb's state (`--explain`), so candidates can be read against it.
    func explain(_ change: StateChange) {
        switch format {
        case .jsonl:
            var s = "{\"state\": \"\(change.state.rawValue)\", \"onset_s\": \(fixed(change.time, 3))"
            if let file { s += ", \"file\": \(jsonString(file))" }
            out.append(s + "}\n")
        case .csv, .text:
            out.append("# state \(change.state.rawValue) onset_s=\(fixed(change.time, 3))\n")
        }
    }

    func textHeader(path: String, reader: Recording, location: String) -> String {
        var s = "\(path): \(formatName(reader.format))"
        s += reader.compressed && (reader.format == .genericCSV || reader.format == .phyphox) ? " (gzip)" : ""
        s += ", \(fixed(reader.sampleRate, 1)) Hz measured"
        if let device = reader.device {
            s += ", \(reader.format == .genericCSV ? "sensor" : "device") \(device)"
        }
        if let serial = reader.serial { s += " serial \(serial)" }
        s += ", location \(location)"
        if let t = reader.startTime {
            s += ", starts \(RFC3339.format(t)) UTC (\(localTime(t, offset: reader.utcOffset)) local)"
        }
        s += "\n"
        if reader.sampleRate < minimumTwitchRate {
            s += "  \(lowRateNote(reader.sampleRate)): twitches are not counted, only rest and activity\n"
        }
        var h = "  " + pad("offset", 12)
        if start != nil { h += "  " + "time (UTC)".padded(toWidth: 24) }
        h +=
            "  " + pad("duration", 8) + "  " + pad("peak", 10) + "  " + pad("axis", 4) + "  " + pad("freq", 8)
        h += "  " + pad("snr", 5) + "  " + pad("conf", 4) + "\n"
        return s + h
    }
}

func csvCell(_ s: String) -> String {
    guard s.contains(",") || s.contains("\"") || s.contains("\n") else { return s }
    var quoted = "\""
    for c in s {
        if c == "\"" { quoted.append("\"") }
        quoted.append(c)
    }
    return quoted + "\""
}

/// Right-aligns `s` in `width` columns.
func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

/// `H:MM:SS.mmm` (or `M:SS.mmm` under an hour). Times beyond a million hours (a trace can hold
/// any timestamp) print as that many seconds instead of overflowing.
func clock(_ seconds: Double) -> String {
    guard let ms = Int(exactly: (max(seconds, 0) * 1000).rounded()), ms < 3_600_000_000_000 else {
        return seconds.isFinite ? fixed(seconds, 0) + " s" : "?"
    }
    let h = ms / 3_600_000
    let m = ms / 60_000 % 60
    let s = ms / 1000 % 60
    let f = ms % 1000
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let frac = f < 10 ? "00\(f)" : f < 100 ? "0\(f)" : "\(f)"
    return h > 0 ? "\(h):\(two(m)):\(two(s)).\(frac)" : "\(m):\(two(s)).\(frac)"
}

/// `1 h 02 min`, `3 min 05 s`, `12.3 s`.
func span(_ seconds: Double) -> String {
    if seconds < 60 { return fixed(seconds, 1) + " s" }
    guard let total = Int(exactly: seconds.rounded()), total < 3_600_000_000_000 else {
        return seconds.isFinite ? fixed(seconds / 3600, 0) + " h" : "?"
    }
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    if total < 3600 { return "\(total / 60) min \(two(total % 60)) s" }
    return "\(total / 3600) h \(two(total / 60 % 60)) min"
}

/// What a replay found, for the text summary.
struct Summary {
    var files = 0
    var samples = 0
    var duration = 0.0
    var rate = 0.0
    var sensor: String?
    var location = ""
    var start: Double?
    var incomplete = false
    var twitches = 0
    var largest: TwitchEvent?
    var onsets: [Double] = []
    /// Time at rest, active, not worn and without samples: this file's, or every merged file's.
    var exposure = Exposure()
    var counter = ExposureCounter()
    /// Peak of every twitch, mg (for the median and 90th percentile of `--summary`).
    var peaks: [Double] = []
    /// What the recording said about itself (`--summary`).
    var facts: RecordingFacts?

    mutating func add(_ e: TwitchEvent) {
        twitches += 1
        onsets.append(e.onset)
        peaks.append(e.peakMg)
        if largest.map({ e.peakMg > $0.peakMg }) ?? true { largest = e }
    }

    mutating func change(to new: LimbState, at time: Double) {
        counter.change(to: new, at: time)
    }

    mutating func end(at time: Double, samples n: Int) {
        counter.charge(until: time)
        exposure = counter.exposure
        duration = time
        samples = n
    }

    mutating func merge(_ o: Summary) {
        files += o.files
        samples += o.samples
        duration += o.duration
        twitches += o.twitches
        exposure += o.exposure
        if let l = o.largest, largest.map({ l.peakMg > $0.peakMg }) ?? true { largest = l }
        incomplete = incomplete || o.incomplete
    }

    /// The most twitches in any 60-second window, and where it starts.
    var busiestMinute: (count: Int, start: Double)? {
        guard !onsets.isEmpty else { return nil }
        let sorted = onsets.sorted()
        var best = (count: 0, start: 0.0)
        var j = 0
        for i in 0..<sorted.count {
            while j < sorted.count, sorted[j] < sorted[i] + 60 { j += 1 }
            if j - i > best.count { best = (j - i, sorted[i]) }
        }
        return best
    }

    func perHourOfRest() -> String {
        exposure.ratePerHourOfRest(twitches).map { fixed($0, 1) + " per hour of rest" }
            ?? "rest too short for a rate"
    }

    func text(path: String) -> String {
        var s = "summary of \(path)\(incomplete ? " (up to the error below)" : ""):\n"
        s += "  trace        \(span(duration)), \(samples) samples at \(fixed(rate, 1)) Hz\n"
        if let why = facts?.skippedText { s += "  skipped      \(why)\n" }
        if let why = facts?.twitchesNotCounted {
            s += "  twitches     not counted: \(why)\n"
        } else {
            s += "  twitches     \(twitches) (\(perHourOfRest()))\n"
        }
        s += "  \(stateLine())\n"
        if let l = largest {
            let when = start.map { " (" + RFC3339.format($0 + l.onset) + ")" } ?? ""
            s +=
                "  largest      \(fixed(l.peakMg, 1)) mg at \(clock(l.onset))\(when), axis \(l.axis.rawValue), "
            s += "\(fixed(l.frequencyHz, 1)) Hz, \(fixed(l.durationMs, 0)) ms\n"
        }
        if let b = busiestMinute {
            s +=
                "  busiest min  \(b.count) twitch\(b.count == 1 ? "" : "es") in the minute from \(clock(b.start))\n"
        }
        if let f = facts {
            s += "  counted by   twitchd \(twitchdVersion), sensitivity \(fixed(f.sensitivity, 2))\n"
        }
        return s + "\n"
    }

    func stateLine() -> String {
        let e = exposure
        let total = max(e.total, 1e-9)
        func pct(_ v: Double) -> String { fixed(100 * v / total, 0) + " %" }
        var s = "at rest      \(span(e.rest)) (\(pct(e.rest))), active \(span(e.active)) (\(pct(e.active)))"
        if e.notWorn > 0 { s += ", possibly not worn \(span(e.notWorn)) (\(pct(e.notWorn)))" }
        if e.gap > 0 { s += ", no samples \(span(e.gap)) (\(pct(e.gap)))" }
        return s
    }

    func totalText() -> String {
        var s = "all \(files) files:\n"
        s += "  twitches     \(twitches) (\(perHourOfRest()))\n"
        s += "  \(stateLine())\n"
        if let l = largest { s += "  largest      \(fixed(l.peakMg, 1)) mg\n" }
        return s
    }
}

/// Progress on standard error (only constructed when it is a terminal).
final class Progress {
    let path: String
    let began = ContinuousClock.now
    var last = ContinuousClock.now
    var shown = false

    init(path: String) { self.path = path }

    func update(traceSeconds: Double, samples: Int) {
        let now = ContinuousClock.now
        guard now - last > .milliseconds(250), now - began > .seconds(1) else { return }
        last = now
        shown = true
        let d = (now - began).components
        let elapsed = Double(d.seconds) + Double(d.attoseconds) * 1e-18
        let rate = Double(samples) / max(elapsed, 1e-3)
        writeStandardError(
            "\r\u{1B}[K\(path): \(span(traceSeconds)) of trace read (\(fixed(rate / 1e6, 1)) M samples/s)")
    }

    func clear() {
        if shown { writeStandardError("\r\u{1B}[K") }
    }
}
