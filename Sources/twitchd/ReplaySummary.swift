import ArgumentParser
import Detector
import Traces
import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// twitchd's version, in every summary row and `--version`.
let twitchdVersion = "0.2.0"

/// The lowest sample rate the twitch detector works at (``TwitchDetector`` refuses slower
/// input): twitches ring at 4-45 Hz, so slower recordings cannot show them.
let minimumTwitchRate = 50.0

/// What a recording said about itself, beside the detector's findings: one summary row.
struct RecordingFacts: Sendable {
    var format: TraceFormat
    var compressed: Bool
    var device: String?
    var serial: String?
    var startTime: Double?
    var utcOffset: Int?
    var nominalRate: Double?
    var rateAtOpen: Double
    var skipped: [SkipCount]
    /// The same in words, with the first line of each reason for CSV (nil: nothing skipped).
    var skippedText: String? = nil
    var temperature: ClosedRange<Double>?
    /// Why twitches were not counted (nil when they were).
    var twitchesNotCounted: String?
    /// The rate the detector was configured for (after any upsampling), Hz.
    var detectorRate: Double
    var sensitivity: Double
}

/// How a recording is fed to the detector.
///
/// At 50 Hz and above samples go straight in. Slower recordings (an Axivity at 25 Hz, an
/// ActiGraph at 30 Hz) cannot show twitches, but rest, movement and off-body time (from the
/// 0-1.5 Hz band) can still be told: each interval is linearly interpolated up to at least 50 Hz
/// for the detector, and any twitch it reports is dropped, because it would come from made-up
/// samples. Time jumps longer than the detector bridges are gaps: charged to `gap` time.
struct DetectorFeed {
    let factor: Int
    let gapLimit: Double
    var previous: Sample?

    init(rate: Double) {
        if rate >= minimumTwitchRate || !(rate > 0) {
            factor = 1
        } else {
            factor = Int((minimumTwitchRate / rate).rounded(.up))
        }
        gapLimit = max(0.25, 8 / (rate > 0 ? rate : 1))
    }

    var countsTwitches: Bool { factor == 1 }

    /// Passes `s` on (interpolating before it when upsampling); calls `gap` for a hole before it.
    @inline(__always)
    mutating func feed(_ s: Sample, gap: (Double, Double) -> Void, _ out: (Sample) -> Void) {
        defer { previous = s }
        guard let p = previous else {
            out(s)
            return
        }
        let dt = s.time - p.time
        if dt > gapLimit {
            gap(p.time, s.time)
            out(s)
            return
        }
        if factor > 1, dt > 0 {
            let step = 1 / Double(factor)
            for k in 1..<factor {
                let f = Double(k) * step
                let a = p.acceleration
                let b = s.acceleration
                out(
                    Sample(
                        time: p.time + dt * f, x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f,
                        z: a.z + (b.z - a.z) * f))
            }
        }
        out(s)
    }
}

extension Replay {
    /// `--summary`: the output format of the one-row-per-recording summary.
    enum SummaryFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
        case json, csv
    }

    /// Replays every file (`jobs` at a time) and prints one summary per file, in input order.
    func runSummaries(_ summaryFormat: SummaryFormat, paths: [String]) async throws {
        signal(SIGPIPE, SIG_IGN)
        let out = OutputStream(fd: 1)
        let jobCount = max(1, jobs ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        if summaryFormat == .csv { out.append(SummaryRow.csvHeader + "\n") }
        var failure: Int32 = 0
        let me = self
        await withTaskGroup(of: (Int, SummaryRow).self) { group in
            var nextToStart = 0
            var nextToPrint = 0
            var done: [Int: SummaryRow] = [:]
            func start() {
                let i = nextToStart
                let path = paths[i]
                nextToStart += 1
                group.addTask {
                    let sink = OutputStream(fd: -1)
                    let (summary, error) = me.replay(
                        path: path, out: sink, several: false, progress: false, quiet: true)
                    return (i, SummaryRow(path: path, summary: summary, error: error))
                }
            }
            while nextToStart < paths.count, nextToStart < jobCount { start() }
            for await (i, row) in group {
                done[i] = row
                while let r = done.removeValue(forKey: nextToPrint) {
                    out.append((summaryFormat == .json ? r.json() : r.csv()) + "\n")
                    out.flush()
                    if let e = r.error {
                        writeStandardError("twitchd replay: \(e)\n")
                        if failure == 0 { failure = e.code }
                    }
                    nextToPrint += 1
                }
                if nextToStart < paths.count, !out.broken { start() }
            }
        }
        out.flush()
        if failure != 0 { throw ExitCode(failure) }
    }

    /// The files to replay: each argument, and for a directory every file in it (recursively,
    /// sorted by path) whose name looks like a recording.
    static func expand(_ arguments: [String]) -> [String] {
        var result: [String] = []
        for a in arguments {
            var st = stat()
            if a != "-", stat(a, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                var found: [String] = []
                walk(a.hasSuffix("/") ? String(a.dropLast()) : a, into: &found, depth: 0)
                result += found.sorted()
            } else {
                result.append(a)
            }
        }
        return result
    }

    /// Endings of the files a directory is searched for.
    static let recordingEndings = [
        ".csv", ".csv.gz", ".txt", ".txt.gz", ".bin", ".cwa", ".gt3x", ".zip",
    ]

    private static func walk(_ dir: String, into found: inout [String], depth: Int) {
        guard depth < 32, let d = opendir(dir) else { return }
        defer { closedir(d) }
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            let path = dir + "/" + name
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                walk(path, into: &found, depth: depth + 1)
            } else if (st.st_mode & S_IFMT) == S_IFREG {
                let lower = name.lowercased()
                if recordingEndings.contains(where: { lower.hasSuffix($0) }), !lower.hasSuffix(".truth.json")
                {
                    found.append(path)
                }
            }
        }
    }
}

/// One recording's summary row (`--summary json|csv`). Times: `start`/`end` in RFC 3339 UTC,
/// `start_local` in the recording's own zone (when it records one; otherwise this machine's).
struct SummaryRow: Sendable {
    var path: String
    var summary: Summary?
    var error: Replay.ReplayFailure?

    /// The 50th and 90th percentile of `values` (nearest rank), or nil when empty.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// The fields, in order, as (name, JSON value) pairs; CSV uses the same names.
    func fields() -> [(String, String)] {
        var f: [(String, String)] = [("file", jsonString(path))]
        let s = summary
        let facts = s?.facts
        func str(_ v: String?) -> String { v.map(jsonString) ?? "null" }
        func num(_ v: Double?, _ d: Int) -> String { v.map { fixed($0, d) } ?? "null" }
        f.append(("format", str(facts?.format.rawValue)))
        f.append(("device", str(facts?.device)))
        f.append(("serial", str(facts?.serial)))
        let start = facts?.startTime
        // Times far outside any recording's (a damaged header) are left out, not formatted.
        let sane = start.flatMap { abs($0) < 1e11 ? $0 : nil }
        let end = sane.flatMap { st in s.flatMap { abs($0.duration) < 1e10 ? st + $0.duration : nil } }
        f.append(("start", str(sane.map { RFC3339.format($0) })))
        f.append(("end", str(end.map { RFC3339.format($0) })))
        f.append(("start_local", str(sane.map { localTime($0, offset: facts?.utcOffset) })))
        f.append(("utc_offset_min", facts?.utcOffset.map { "\($0 / 60)" } ?? "null"))
        f.append(("duration_s", num(s?.duration, 3)))
        f.append(("samples", s.map { "\($0.samples)" } ?? "null"))
        let e = s?.exposure
        let sampled = s.map { $0.duration - $0.exposure.gap } ?? 0
        let measured = s.flatMap { $0.samples > 1 && sampled > 0 ? Double($0.samples - 1) / sampled : nil }
        f.append(("rate_hz", num(measured, 3)))
        f.append(("nominal_rate_hz", num(facts?.nominalRate, 3)))
        f.append(("rest_s", num(e?.rest, 1)))
        f.append(("active_s", num(e?.active, 1)))
        f.append(("not_worn_s", num(e?.notWorn, 1)))
        f.append(("gap_s", num(e?.gap, 1)))
        let counted = facts != nil && facts?.twitchesNotCounted == nil
        f.append(("twitches", counted ? s.map { "\($0.twitches)" } ?? "null" : "null"))
        f.append(
            (
                "twitches_per_hour_rest",
                counted ? num(e.flatMap { e in s.flatMap { e.ratePerHourOfRest($0.twitches) } }, 2) : "null"
            )
        )
        f.append(("twitches_not_counted", str(facts?.twitchesNotCounted)))
        let peaks = (s?.peaks ?? []).sorted()
        f.append(("peak_mg_median", counted ? num(SummaryRow.percentile(peaks, 0.5), 2) : "null"))
        f.append(("peak_mg_p90", counted ? num(SummaryRow.percentile(peaks, 0.9), 2) : "null"))
        let skipped = facts?.skipped ?? []
        f.append(("skipped", "\(skipped.reduce(0) { $0 + $1.count })"))
        f.append(
            (
                "skipped_why",
                "{" + skipped.map { "\(jsonString($0.reason)): \($0.count)" }.joined(separator: ", ") + "}"
            ))
        f.append(("temperature_c_min", num(facts?.temperature?.lowerBound, 1)))
        f.append(("temperature_c_max", num(facts?.temperature?.upperBound, 1)))
        f.append(("complete", s.map { $0.incomplete ? "false" : "true" } ?? "false"))
        f.append(("error", str(error?.description)))
        f.append(("twitchd_version", jsonString(twitchdVersion)))
        f.append(("detector_sensitivity", num(facts?.sensitivity, 2)))
        f.append(("detector_rate_hz", num(facts?.detectorRate, 3)))
        f.append(("location", str(s?.location)))
        return f
    }

    static let csvHeader: String = SummaryRow(path: "").fields().map(\.0).joined(separator: ",")

    func json() -> String {
        "{" + fields().map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    func csv() -> String {
        fields().map { name, value in
            if value == "null" { return "" }
            if name == "skipped_why" {
                let s = summary?.facts?.skipped ?? []
                return csvCell(s.map { "\($0.reason)=\($0.count)" }.joined(separator: ";"))
            }
            if value.hasPrefix("\"") {
                // Undo the JSON quoting for CSV: the string's own text, CSV-quoted when needed.
                return csvCell(jsonUnquote(value))
            }
            return value
        }.joined(separator: ",")
    }
}

/// The text inside a JSON string literal made by ``jsonString(_:)``.
func jsonUnquote(_ literal: String) -> String {
    var out = ""
    var escaped = false
    for c in literal.dropFirst().dropLast() {
        if escaped {
            switch c {
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            default: out.append(c)
            }
            escaped = false
        } else if c == "\\" {
            escaped = true
        } else {
            out.append(c)
        }
    }
    return out
}

/// `2019-03-21T14:58:00.500-04:00`: `unix` in the zone `offset` seconds east of UTC, or this
/// machine's zone (TZ) when `offset` is nil.
func localTime(_ unix: Double, offset: Int?) -> String {
    var zone = offset
    if zone == nil, let whole = Int(exactly: unix.rounded(.down)) {
        var t = time_t(whole)
        var parts = tm()
        if localtime_r(&t, &parts) != nil { zone = Int(parts.tm_gmtoff) }
    }
    let z = zone ?? 0
    let shifted = RFC3339.format(unix + Double(z))
    // RFC3339.format writes UTC with a trailing Z: replace it by the offset.
    let sign = z < 0 ? "-" : "+"
    let a = abs(z)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return String(shifted.dropLast()) + "\(sign)\(two(a / 3600)):\(two(a / 60 % 60))"
}

/// A readable name for a format, for the text output.
func formatName(_ f: TraceFormat) -> String {
    switch f {
    case .genericCSV: return "CSV"
    case .phyphox: return "phyphox"
    case .phyphoxZip: return "phyphox export (zip)"
    case .geneactiv: return "GENEActiv .bin"
    case .axivity: return "Axivity .cwa"
    case .actigraph: return "ActiGraph .gt3x"
    }
}

/// What replay says about a recording too slow for twitches.
func lowRateNote(_ rate: Double) -> String {
    "\(fixed(rate, 1)) Hz is below the \(fixed(minimumTwitchRate, 0)) Hz twitch detection needs"
}

extension RecordingFacts {
    init(_ r: Recording, feed: DetectorFeed, config: DetectorConfiguration) {
        self.init(
            format: r.format, compressed: r.compressed, device: r.device, serial: r.serial,
            startTime: r.startTime, utcOffset: r.utcOffset, nominalRate: r.nominalRate,
            rateAtOpen: r.sampleRate, skipped: r.skipped, temperature: r.temperatureRange,
            twitchesNotCounted: feed.countsTwitches ? nil : lowRateNote(r.sampleRate),
            detectorRate: config.sampleRate, sensitivity: config.sensitivity.value)
    }
}

extension Replay {
    /// `--decode-only` (hidden; for scripts/bench-readers): reads every sample of each file, no
    /// detector, and prints the format, the sample count, a checksum of the values and the time.
    func decodeFiles(_ paths: [String]) throws {
        let buffer = UnsafeMutableBufferPointer<Sample>.allocate(capacity: 1 << 14)
        defer { buffer.deallocate() }
        for path in paths {
            let began = ContinuousClock.now
            let r: Recording
            do { r = try Recording(path: path) } catch {
                writeStandardError("twitchd replay: \(error)\n")
                throw ExitCode(error.exitCode.rawValue)
            }
            var sum = 0.0
            do {
                while true {
                    let n = try r.read(into: buffer)
                    if n == 0 { break }
                    for k in 0..<n { sum += buffer[k].acceleration.x }
                }
            } catch {
                writeStandardError("twitchd replay: \(error)\n")
                throw ExitCode(error.exitCode.rawValue)
            }
            let d = (ContinuousClock.now - began).components
            let seconds = Double(d.seconds) + Double(d.attoseconds) * 1e-18
            print(
                "\(path)\t\(r.format.rawValue)\t\(r.samplesRead) samples\tsum_x \(fixed(sum, 3))\t\(fixed(seconds, 3)) s"
            )
        }
    }
}
