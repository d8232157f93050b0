// Local time without ICU: the C library's tz code (TZ, /etc/localtime).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Calendar arithmetic in local time or UTC, through `localtime_r`/`mktime`/`timegm`.
public struct ReportCalendar: Sendable {
    public var utc: Bool

    public init(utc: Bool) { self.utc = utc }

    /// Broken-down time of `seconds` since the epoch.
    func fields(_ seconds: Int64) -> tm {
        var t = time_t(seconds)
        var out = tm()
        if utc { gmtime_r(&t, &out) } else { localtime_r(&t, &out) }
        return out
    }

    /// Seconds since the epoch of a broken-down time (normalized: day 32 is next month's 1st).
    func seconds(_ fields: tm) -> Int64 {
        var f = fields
        f.tm_isdst = -1
        return Int64(utc ? timegm(&f) : mktime(&f))
    }

    /// Seconds of the local midnight that begins the day holding `seconds`.
    public func startOfDay(_ seconds: Int64) -> Int64 {
        var f = fields(seconds)
        f.tm_hour = 0
        f.tm_min = 0
        f.tm_sec = 0
        return self.seconds(f)
    }

    /// `days` days after the midnight `dayStart` (DST-safe).
    public func addDays(_ dayStart: Int64, _ days: Int) -> Int64 {
        var f = fields(dayStart)
        f.tm_mday += Int32(days)
        f.tm_hour = 0
        f.tm_min = 0
        f.tm_sec = 0
        return seconds(f)
    }

    /// Day of the week of `seconds`, 0 = Sunday.
    public func weekday(_ seconds: Int64) -> Int { Int(fields(seconds).tm_wday) }

    /// `YYYY-MM-DD`.
    public func dateString(_ seconds: Int64) -> String {
        let f = fields(seconds)
        return "\(f.tm_year + 1900)-\(pad(Int(f.tm_mon) + 1))-\(pad(Int(f.tm_mday)))"
    }

    /// `YYYY-MM-DD HH:MM`.
    public func minuteString(_ seconds: Int64) -> String {
        let f = fields(seconds)
        return dateString(seconds) + " \(pad(Int(f.tm_hour))):\(pad(Int(f.tm_min)))"
    }

    /// Parses a moment as journalctl takes it: `now`, `today`, `yesterday`, `tomorrow`,
    /// `-7d`/`-12h`/`-30m`/`-1w` (before now), `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` (also with
    /// `T`); nil if it is none of these.
    public func parseMoment(_ text: String, now: Int64) -> Int64? {
        let s = text.trimmingSpaces
        switch s {
        case "now": return now
        case "today": return startOfDay(now)
        case "yesterday": return addDays(startOfDay(now), -1)
        case "tomorrow": return addDays(startOfDay(now), 1)
        default: break
        }
        if s.hasPrefix("-") || s.hasPrefix("+") {
            let sign: Int64 = s.hasPrefix("-") ? -1 : 1
            let body = s.dropFirst()
            guard let unit = body.last, let n = Int64(body.dropLast()), n >= 0, n < 100_000 else {
                return nil
            }
            let scale: Int64
            switch unit {
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86400
            case "w": scale = 7 * 86400
            default: return nil
            }
            return now + sign * n * scale
        }
        let parts = s.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-")
        guard date.count == 3, let y = Int32(date[0]), let mo = Int32(date[1]), let d = Int32(date[2]),
            (1970...9999).contains(y), (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var f = tm()
        f.tm_year = y - 1900
        f.tm_mon = mo - 1
        f.tm_mday = d
        if parts.count == 2 {
            let clock = parts[1].split(separator: ":")
            guard clock.count == 2 || clock.count == 3, let h = Int32(clock[0]), let mi = Int32(clock[1]),
                (0...23).contains(h), (0...59).contains(mi)
            else { return nil }
            var sec: Int32 = 0
            if clock.count == 3 {
                guard let v = Int32(clock[2]), (0...60).contains(v) else { return nil }
                sec = v
            }
            f.tm_hour = h
            f.tm_min = mi
            f.tm_sec = sec
        }
        let result = seconds(f)
        // mktime normalizes 2026-02-31 into March: refuse dates that do not exist.
        let back = fields(result)
        guard back.tm_mday == d, back.tm_mon == mo - 1 else { return nil }
        return result
    }

    private func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
