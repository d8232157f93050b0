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

            Input formats (plain or gzip-compressed; detected from the content):
              generic CSV   optional '# key=value' lines (sensor, rate_hz, location, start_time \
            in RFC 3339 or start_unix), then a header naming a time column in seconds and three \
            axes, e.g. time_s,ax_g,ay_g,az_g. Units are g unless the header says m/s^2 \
            (ax_ms2, 'x (m/s^2)') or mg (ax_mg). Commas, tabs or semicolons separate cells.
              phyphox       the CSV the phyphox phone app exports: "Time (s)","Acceleration x \
            (m/s^2)",... with irregular timestamps.
            The sample rate is measured from the timestamps (median interval); rate_hz is only \
            informative. A time column in Unix epoch seconds also gives absolute time.

            Output formats (--format):
              text    one aligned line per twitch, then a summary (for people; the default)
              jsonl   one JSON object per twitch: offset_s, time (when known), duration_ms, \
            peak_mg, axis, freq_hz, snr, confidence, location, and file when several files
              csv     a header line, then the same fields as jsonl, one row per twitch

            Sensitivity (--sensitivity low|normal|high or a number 0...1, default normal): \
            higher finds smaller twitches closer to the sensor's noise floor and accepts more \
            false alarms; lower reports only clear twitches.

            Exit status: 0 all files read; 64 bad option; 65 a file's content is wrong (empty, \
            unknown header, a cell that is not a number, NaN/inf, time going backwards, \
            truncated gzip, a sample rate the detector cannot use); 66 a file is missing or \
            unreadable. Errors name the file and line; the twitches found before an error are \
            still printed, and JSON lines are never cut in half. Progress is shown on a \
            terminal for long files, never when standard error is redirected.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, jsonl, csv
    }

    @Argument(help: "Trace files (.csv, .csv.gz, phyphox exports); '-' reads standard input.")
    var files: [String]

    @Option(help: "Output: text, jsonl or csv.")
    var format: Format = .text

    @Option(help: "Location label for the events (default: the trace's location metadata, else 'unknown').")
    var location: String?

    @Option(help: "low, normal, high, or a number in 0...1.")
    var sensitivity: String = "normal"

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
    }

    func run() async throws {
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
        if failure != 0 { throw ExitCode(failure) }
    }

    struct ReplayFailure: CustomStringConvertible {
        var description: String
        var code: Int32
    }

    /// Replays one file; returns its summary (nil when it could not be opened) and the error, if any.
    func replay(path: String, out: OutputStream, several: Bool, progress: Bool) -> (Summary?, ReplayFailure?)
    {
        var reader: TraceReader
        do { reader = try TraceReader(path: path) } catch {
            return (nil, ReplayFailure(description: error.description, code: error.exitCode.rawValue))
        }
        let label = location ?? reader.metadata.location ?? "unknown"
        let config = DetectorConfiguration(
            sampleRate: reader.sampleRate, sensitivity: Sensitivity(parsing: sensitivity) ?? .normal,
            location: label, explain: explain)
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
        let emitter = Emitter(
            format: format, out: out, start: reader.startTime, file: several ? path : nil)
        if format == .text { out.append(emitter.textHeader(path: path, reader: reader, location: label)) }

        let meter = progress ? Progress(path: path) : nil
        let capacity = 4096
        let buffer = UnsafeMutableBufferPointer<Sample>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var failure: ReplayFailure? = nil
        var lastTime = 0.0
        func handle(_ output: DetectorOutput) {
            switch output {
            case .twitch(let e):
                summary.add(e)
                emitter.emit(e)
            case .state(let change):
                summary.change(to: change.state, at: change.time)
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
            for k in 0..<n { detector.process(buffer[k], handle) }
            lastTime = buffer[n - 1].time
            if out.broken { break }
            meter?.update(traceSeconds: lastTime, samples: reader.samplesRead)
        }
        detector.finish(handle)
        meter?.clear()
        summary.end(at: lastTime, samples: reader.samplesRead)
        if failure != nil { summary.incomplete = true }
        return (summary, failure)
    }
}

/// Buffered standard output that only ever writes whole lines, and notices a closed pipe.
final class OutputStream {
    private let fd: Int32
    private var bytes: [UInt8] = []
    private(set) var broken = false

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
                if w < 0 {
                    if errno == EINTR { continue }
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
            var s = "{\"offset_s\": \(fixed(e.onset, 3))"
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

    func textHeader(path: String, reader: TraceReader, location: String) -> String {
        var s = "\(path): \(reader.format == .phyphox ? "phyphox" : "CSV")"
        s += reader.compressed ? " (gzip)" : ""
        s += ", \(fixed(reader.sampleRate, 1)) Hz measured"
        if let sensor = reader.metadata.sensor { s += ", sensor \(sensor)" }
        s += ", location \(location)"
        if let t = reader.startTime { s += ", starts \(RFC3339.format(t))" }
        s += "\n"
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

/// `H:MM:SS.mmm` (or `M:SS.mmm` under an hour).
func clock(_ seconds: Double) -> String {
    let ms = Int((max(seconds, 0) * 1000).rounded())
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
    let total = Int(seconds.rounded())
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

    mutating func add(_ e: TwitchEvent) {
        twitches += 1
        onsets.append(e.onset)
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
        s += "  twitches     \(twitches) (\(perHourOfRest()))\n"
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
