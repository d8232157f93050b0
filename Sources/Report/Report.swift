// Counting twitches against the time at rest, per group, and comparing the hours after notes.

public import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// How rows are formed.
public enum Grouping: String, Sendable, CaseIterable {
    case day, hour, hourOfDay = "hour-of-day", week, location, sensor, machine

    /// Whether rows are spans of time.
    public var isTime: Bool { self == .day || self == .hour || self == .hourOfDay || self == .week }
}

/// What a report was asked for.
public struct ReportSettings: Sendable {
    public var source: JournalSource = .system
    public var sinceUsec: Int64?
    public var untilUsec: Int64?
    public var grouping: Grouping = .day
    public var utc = false
    public var includeSimulated = false
    /// The hours after a note that count as "after" it, e.g. 0...3.
    public var windowHours: ClosedRange<Double> = 0...3
    /// twitchd's version, for the HTML's footer.
    public var version = ""
    /// The command line, for the HTML's footer.
    public var commandLine = ""
    /// Whether to work out what only the charts need (every day of the range, the heat map, per
    /// location): set for `--html`; a table, JSON or CSV alone skips it.
    public var charts = true

    public init() {}
}

/// One row of the report.
public struct ReportRow: Sendable, Equatable {
    /// e.g. `2026-11-30`, `14`, `left-calf`.
    public var key: String
    /// Where the row begins (time groupings), seconds since the epoch.
    public var start: Int64?
    public var twitches = 0
    /// Of `twitches`, how many are simulated.
    public var simulatedTwitches = 0
    public var exposure = Exposure()
    public var samplesLost = 0.0
    public var peaks: [Double] = []
    public var frequencies: [Double] = []

    public init(key: String, start: Int64? = nil) {
        self.key = key
        self.start = start
    }

    /// Twitches per hour of worn rest (nil below one minute of rest).
    public var ratePerRestHour: Double? { exposure.ratePerHourOfRest(twitches) }
    /// Median peak acceleration in mg.
    public var medianPeakMg: Double? {
        guard !peaks.isEmpty else { return nil }
        let s = peaks.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// One kind of note against the rest of the time.
public struct NoteComparison: Sendable, Equatable {
    public var kind: String
    public var notes: Int
    public var twitchesAfter: Int
    public var restHoursAfter: Double
    public var twitchesOther: Int
    public var restHoursOther: Double
    /// Rate after / rate at other times, with its exact 95 % interval; nil when there is too
    /// little data to say.
    public var ratio: Double?
    public var lower: Double?
    public var upper: Double?
    public var windowHours: ClosedRange<Double>

    /// At least an hour of rest on both sides and ten twitches in all.
    public var enoughData: Bool {
        restHoursAfter >= 1 && restHoursOther >= 1 && twitchesAfter + twitchesOther >= 10
    }

    /// The comparison in plain words.
    public var summary: String {
        let window = "\(fixed(windowHours.lowerBound, 0))-\(fixed(windowHours.upperBound, 0)) h"
        let base =
            "from \(twitchesAfter) twitch\(twitchesAfter == 1 ? "" : "es") in \(fixed(restHoursAfter, 1)) h of rest in the \(window) after \(notes) note\(notes == 1 ? "" : "s"), against \(twitchesOther) in \(fixed(restHoursOther, 1)) h at other times"
        guard enoughData, let ratio, let lower, let upper else {
            return
                "too little data to compare (\(base); needs at least 1 h of rest on each side and 10 twitches)"
        }
        // Two decimals when the interval is narrow, so that it never reads "1.5-1.5".
        let d = upper.isFinite && upper - lower < 0.3 ? 2 : 1
        let ci =
            "95 % CI \(fixed(lower, lower < 10 ? d : 0))-\(upper.isFinite ? fixed(upper, upper < 10 ? d : 0) : "inf")"
        var words = "\(fixed(ratio, d))x the usual rate, \(ci), \(base)"
        if lower <= 1 && upper >= 1 { words += "; no clear difference" }
        return words
    }
}

/// A finished report.
public struct Report: Sendable {
    public var settings: ReportSettings
    public var rows: [ReportRow]
    public var total: ReportRow
    public var notes: [NoteRecord]
    public var comparisons: [NoteComparison]
    /// Per day (for the HTML's charts, whatever the grouping): rows by day.
    public var days: [ReportRow]
    /// Twitches per (day index into `days`, local hour) for the heat map.
    public var heat: [[Int]]
    /// Rest hours per (day, hour) for the heat map's rates.
    public var heatRest: [[Double]]
    public var byLocation: [ReportRow]
    public var untrusted: Int
    public var simulatedSkipped: Int
    public var duplicates: Int
    public var malformed: Int

    /// Builds the report from what was read.
    public init(_ data: ReportData, settings: ReportSettings) {
        self.settings = settings
        let cal = ReportCalendar(utc: settings.utc)
        let since = settings.sinceUsec
        let until = settings.untilUsec
        let twitches = data.twitches.sorted { $0.timeUsec < $1.timeUsec }
        var exposures: [ExposureRecord] = []
        exposures.reserveCapacity(data.exposures.count)
        for e in data.exposures {
            let c = clip(e, since: since, until: until)
            let seconds: Double = c.rest + c.active + c.notWorn + c.gap
            if c.endUsec > c.startUsec || (seconds > 0 && c.startUsec >= (since ?? Int64.min)) {
                exposures.append(c)
            }
        }
        rows = Aggregator(grouping: settings.grouping, calendar: cal).rows(twitches, exposures)
        var t = ReportRow(key: "total")
        for r in rows {
            t.twitches += r.twitches
            t.simulatedTwitches += r.simulatedTwitches
            t.exposure += r.exposure
            t.samplesLost += r.samplesLost
            t.peaks += r.peaks
            t.frequencies += r.frequencies
        }
        total = t
        notes = data.notes.sorted { $0.timeUsec < $1.timeUsec }
        comparisons = Self.compare(
            notes: notes, twitches: twitches, exposures: exposures, window: settings.windowHours)
        guard settings.charts else {
            days = []
            byLocation = []
            heat = []
            heatRest = []
            untrusted = data.untrusted
            simulatedSkipped = data.simulatedSkipped
            duplicates = data.duplicates
            malformed = data.malformed
            return
        }
        // Every day of the range for the charts, with or without data (a gap shows as a gap).
        var dayRows =
            settings.grouping == .day
            ? rows : Aggregator(grouping: .day, calendar: cal).rows(twitches, exposures)
        if let s = settings.sinceUsec, let u = settings.untilUsec, u > s, u - s <= 800 * 86_400_000_000 {
            var have = Set(dayRows.map(\.key))
            var day = cal.startOfDay(Int64.floorDiv(s, 1_000_000))
            let end = Int64.floorDiv(u - 1, 1_000_000)
            while day <= end {
                let key = cal.dateString(day)
                if !have.contains(key) {
                    dayRows.append(ReportRow(key: key, start: day))
                    have.insert(key)
                }
                day = cal.addDays(day, 1)
            }
            dayRows.sort { ($0.start ?? 0) < ($1.start ?? 0) }
        }
        days = dayRows
        byLocation =
            settings.grouping == .location
            ? rows : Aggregator(grouping: .location, calendar: cal).rows(twitches, exposures)
        // Heat map: day x hour of day.
        var dayIndex: [String: Int] = [:]
        for (i, d) in days.enumerated() { dayIndex[d.key] = i }
        heat = Array(repeating: Array(repeating: 0, count: 24), count: days.count)
        heatRest = Array(repeating: Array(repeating: 0, count: 24), count: days.count)
        var cache = BucketCache()
        for tw in twitches {
            let b = cache.bucket(Int64.floorDiv(tw.timeUsec, 1_000_000), .hour, cal)
            if let d = dayIndex[b.day], let h = b.hour { heat[d][h] += 1 }
        }
        let hourAgg = Aggregator(grouping: .hour, calendar: cal)
        for r in hourAgg.rows([], exposures) {
            guard let s = r.start else { continue }
            let b = cache.bucket(s, .hour, cal)
            if let d = dayIndex[b.day], let h = b.hour { heatRest[d][h] += r.exposure.rest / 3600 }
        }
        untrusted = data.untrusted
        simulatedSkipped = data.simulatedSkipped
        duplicates = data.duplicates
        malformed = data.malformed
    }

    /// For each kind of note: twitches and rest in the hours after notes of that kind against
    /// the rest of the time (per machine: a note concerns its own wearer).
    static func compare(
        notes: [NoteRecord], twitches: [TwitchRecord], exposures: [ExposureRecord],
        window: ClosedRange<Double>
    ) -> [NoteComparison] {
        // Free-text notes are compared per text ("magnesium 400 mg" with its like).
        func label(_ n: NoteRecord) -> String { n.kind == "text" ? n.text.lowercased() : n.kind }
        let kinds = Array(Set(notes.map(label))).sorted()
        var result: [NoteComparison] = []
        let machines = Set(twitches.map(\.machine)).union(exposures.map(\.machine)).union(
            notes.map(\.machine))
        let single = machines.count <= 1
        for kind in kinds {
            var c = NoteComparison(
                kind: kind, notes: 0, twitchesAfter: 0, restHoursAfter: 0, twitchesOther: 0,
                restHoursOther: 0,
                windowHours: window)
            for machine in machines.sorted() {
                let own = notes.filter { label($0) == kind && (single || $0.machine == machine) }
                let tw = single ? twitches : twitches.filter { $0.machine == machine }
                let ex = single ? exposures : exposures.filter { $0.machine == machine }
                c.notes += own.count
                var windows: [(Int64, Int64)] = own.map {
                    (
                        $0.timeUsec + Int64(window.lowerBound * 3.6e9),
                        $0.timeUsec + Int64(window.upperBound * 3.6e9)
                    )
                }
                windows.sort { $0.0 < $1.0 }
                var merged: [(Int64, Int64)] = []
                for w in windows {
                    if let last = merged.last, w.0 <= last.1 {
                        merged[merged.count - 1].1 = max(last.1, w.1)
                    } else {
                        merged.append(w)
                    }
                }
                let times = tw.map(\.timeUsec)  // sorted
                var inside = 0
                for w in merged { inside += lowerBound(times, w.1) - lowerBound(times, w.0) }
                var restIn = 0.0
                var restAll = 0.0
                for e in ex {
                    restAll += e.rest
                    let span = e.endUsec - e.startUsec
                    guard span > 0 else { continue }
                    var overlap: Int64 = 0
                    var i = max(0, lowerBoundStart(merged, e.startUsec) - 1)
                    while i < merged.count, merged[i].0 < e.endUsec {
                        overlap += max(0, min(merged[i].1, e.endUsec) - max(merged[i].0, e.startUsec))
                        i += 1
                    }
                    restIn += e.rest * Double(overlap) / Double(span)
                }
                c.twitchesAfter += inside
                c.twitchesOther += tw.count - inside
                c.restHoursAfter += restIn / 3600
                c.restHoursOther += (restAll - restIn) / 3600
                if single { break }
            }
            if c.enoughData,
                let r = RateRatio.interval(
                    k1: c.twitchesAfter, t1: c.restHoursAfter, k2: c.twitchesOther, t2: c.restHoursOther)
            {
                c.ratio = r.ratio
                c.lower = r.lower
                c.upper = r.upper
            }
            result.append(c)
        }
        return result
    }
}

/// The first index whose value is >= `x` in sorted `a`.
func lowerBound(_ a: [Int64], _ x: Int64) -> Int {
    var lo = 0
    var hi = a.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if a[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

func lowerBoundStart(_ a: [(Int64, Int64)], _ x: Int64) -> Int {
    var lo = 0
    var hi = a.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if a[mid].0 < x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

/// The part of `e` inside `since..<until`, its seconds scaled by the fraction kept (time in a
/// period is taken as spread evenly over it).
func clip(_ e: ExposureRecord, since: Int64?, until: Int64?) -> ExposureRecord {
    let s = max(e.startUsec, since ?? Int64.min)
    let t = min(e.endUsec, until ?? Int64.max)
    guard s > e.startUsec || t < e.endUsec else { return e }
    let span = e.endUsec - e.startUsec
    guard span > 0, t > s else {
        var empty = e
        empty.endUsec = e.startUsec
        (empty.rest, empty.active, empty.notWorn, empty.gap, empty.samplesLost) = (0, 0, 0, 0, 0)
        return empty
    }
    let f = Double(t - s) / Double(span)
    var c = e
    c.startUsec = s
    c.endUsec = t
    c.rest *= f
    c.active *= f
    c.notWorn *= f
    c.gap *= f
    c.samplesLost = Int((Double(e.samplesLost) * f).rounded())
    return c
}

/// The bucket a moment falls in, cached (consecutive moments usually share one).
struct BucketCache {
    struct Bucket {
        var key: String
        var day: String
        var hour: Int?
        var start: Int64
        var end: Int64
    }
    var last: Bucket?
    var lastGrouping: Grouping?

    mutating func bucket(_ seconds: Int64, _ g: Grouping, _ cal: ReportCalendar) -> Bucket {
        if let b = last, lastGrouping == g, seconds >= b.start, seconds < b.end { return b }
        let b: Bucket
        switch g {
        case .hour, .hourOfDay:
            var f = cal.fields(seconds)
            let hour = Int(f.tm_hour)
            f.tm_min = 0
            f.tm_sec = 0
            let start = cal.seconds(f)
            let day = cal.dateString(seconds)
            let hh = hour < 10 ? "0\(hour)" : "\(hour)"
            b = Bucket(
                key: g == .hour ? "\(day) \(hh):00" : "\(hh):00", day: day, hour: hour, start: start,
                end: start + 3600)
        case .week:
            let day = cal.startOfDay(seconds)
            let wday = Int(cal.fields(day).tm_wday)
            let monday = cal.addDays(day, -((wday + 6) % 7))
            b = Bucket(
                key: "week of \(cal.dateString(monday))", day: cal.dateString(monday), hour: nil,
                start: monday,
                end: cal.addDays(monday, 7))
        default:
            let start = cal.startOfDay(seconds)
            let day = cal.dateString(start)
            b = Bucket(key: day, day: day, hour: nil, start: start, end: cal.addDays(start, 1))
        }
        last = b
        lastGrouping = g
        return b
    }
}

/// Adds twitches and exposure into rows.
struct Aggregator {
    let grouping: Grouping
    let calendar: ReportCalendar

    func rows(_ twitches: [TwitchRecord], _ exposures: [ExposureRecord]) -> [ReportRow] {
        var rows: [String: ReportRow] = [:]
        var cache = BucketCache()
        func key(_ location: String, _ sensor: String, _ machine: String) -> String {
            switch grouping {
            case .location: return location
            case .sensor: return sensor.isEmpty ? location : "\(sensor) (\(location))"
            case .machine: return machine.isEmpty ? "unknown" : machine
            default: return ""
            }
        }
        for t in twitches {
            let k: String
            var start: Int64?
            if grouping.isTime {
                let b = cache.bucket(Int64.floorDiv(t.timeUsec, 1_000_000), grouping, calendar)
                k = b.key
                start = b.start
            } else {
                k = key(t.location, t.sensor, t.machine)
            }
            rows[k, default: ReportRow(key: k, start: start)].add(t)
        }
        for e in exposures {
            if !grouping.isTime {
                let k = key(e.location, e.sensor, e.machine)
                rows[k, default: ReportRow(key: k)].add(e, fraction: 1)
                continue
            }
            let span = e.endUsec - e.startUsec
            if span <= 0 {
                let b = cache.bucket(Int64.floorDiv(e.startUsec, 1_000_000), grouping, calendar)
                rows[b.key, default: ReportRow(key: b.key, start: b.start)].add(e, fraction: 1)
                continue
            }
            var t = e.startUsec
            while t < e.endUsec {
                let b = cache.bucket(Int64.floorDiv(t, 1_000_000), grouping, calendar)
                let bucketEnd = b.end * 1_000_000
                let segEnd = min(e.endUsec, max(bucketEnd, t + 1))
                rows[b.key, default: ReportRow(key: b.key, start: b.start)].add(
                    e, fraction: Double(segEnd - t) / Double(span))
                t = segEnd
            }
        }
        var list = Array(rows.values)
        if grouping == .hourOfDay || !grouping.isTime {
            list.sort { $0.key < $1.key }
            for i in list.indices where grouping == .hourOfDay { list[i].start = nil }
        } else {
            list.sort { ($0.start ?? 0, $0.key) < ($1.start ?? 0, $1.key) }
        }
        return list
    }
}

extension ReportRow {
    mutating func add(_ t: TwitchRecord) {
        twitches += 1
        if t.simulated { simulatedTwitches += 1 }
        peaks.append(t.peakMg)
        frequencies.append(t.frequencyHz)
    }

    mutating func add(_ e: ExposureRecord, fraction f: Double) {
        exposure += Exposure(rest: e.rest * f, active: e.active * f, notWorn: e.notWorn * f, gap: e.gap * f)
        samplesLost += Double(e.samplesLost) * f
    }
}

extension Int64 {
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
