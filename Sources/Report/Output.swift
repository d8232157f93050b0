// The report as an aligned table, JSON or CSV (fields documented in docs/journal-fields.md,
// "twitchd report": stable, only ever added to).

import TwitchCore

extension Report {
    /// Time span description for headers.
    var rangeText: String {
        let cal = ReportCalendar(utc: settings.utc)
        let from =
            settings.sinceUsec.map { cal.minuteString(Int64.floorDiv($0, 1_000_000)) } ?? "the beginning"
        let to = settings.untilUsec.map { cal.minuteString(Int64.floorDiv($0, 1_000_000)) } ?? "now"
        return "\(from) to \(to) (\(settings.utc ? "UTC" : "local time"))"
    }

    var groupTitle: String {
        switch settings.grouping {
        case .day: return "day"
        case .hour: return "hour"
        case .hourOfDay: return "hour of day"
        case .week: return "week"
        case .location: return "location"
        case .sensor: return "sensor"
        case .machine: return "wearer/machine"
        }
    }

    /// The aligned table.
    public func table() -> String {
        var out = "twitchd report: \(settings.source), \(rangeText), by \(groupTitle)\n"
        if settings.includeSimulated {
            out +=
                "SIMULATED entries included (--simulated): \(total.simulatedTwitches) of \(total.twitches) twitches come from a simulator.\n"
        }
        out += "\n"
        let header = [
            groupTitle, "twitches", "rest h", "per rest h", "active h", "not worn h", "no samples h",
            "samples lost",
        ]
        var lines: [[String]] = [header]
        for r in rows + [total] {
            var key = r.key
            if r.simulatedTwitches > 0 && r.key != "total" { key += " (sim)" }
            lines.append([
                key, String(r.twitches), fixed(r.exposure.rest / 3600, 2),
                r.ratePerRestHour.map { fixed($0, 1) } ?? "-", fixed(r.exposure.active / 3600, 2),
                fixed(r.exposure.notWorn / 3600, 2), fixed(r.exposure.gap / 3600, 2),
                String(Int(r.samplesLost.rounded())),
            ])
        }
        var widths = Array(repeating: 0, count: header.count)
        for l in lines { for (i, c) in l.enumerated() { widths[i] = max(widths[i], c.count) } }
        for (n, l) in lines.enumerated() {
            if n == lines.count - 1 {
                out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n"
            }
            var line = ""
            for (i, c) in l.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                line += i == 0 ? c + pad : "  " + pad + c
            }
            out += line + "\n"
        }
        if rows.isEmpty { out += "(no trusted twitchd entries in this range)\n" }
        if !comparisons.isEmpty {
            out += "\nAfter notes (rate at rest in the hours after each kind of note, against other times):\n"
            for c in comparisons { out += "  \(c.kind): \(c.summary)\n" }
        }
        if !notes.isEmpty {
            let cal = ReportCalendar(utc: settings.utc)
            out += "\nNotes:\n"
            for n in notes.suffix(20) {
                out +=
                    "  \(cal.minuteString(Int64.floorDiv(n.timeUsec, 1_000_000)))  \(n.kind)\(n.text != n.kind ? ": \(n.text)" : "")\(n.location.map { " (\($0))" } ?? "")  [uid \(n.uid)\(n.machine.isEmpty ? "" : ", \(n.machine)")]\n"
            }
            if notes.count > 20 { out += "  (\(notes.count - 20) earlier notes not shown)\n" }
        }
        out += leftOutText()
        return out
    }

    func leftOutText() -> String {
        var parts: [String] = []
        if untrusted > 0 { parts.append("\(untrusted) untrusted (not written by the twitchd service)") }
        if simulatedSkipped > 0 {
            parts.append("\(simulatedSkipped) simulated (add --simulated to count them)")
        }
        if duplicates > 0 { parts.append("\(duplicates) duplicates (counted once)") }
        if malformed > 0 { parts.append("\(malformed) unreadable") }
        return parts.isEmpty ? "" : "\nLeft out: " + parts.joined(separator: ", ") + " entries.\n"
    }

    /// One JSON object (see docs/journal-fields.md for the fields).
    public func json() -> String {
        let cal = ReportCalendar(utc: settings.utc)
        func num(_ v: Double?, _ d: Int) -> String { v.map { $0.isFinite ? fixed($0, d) : "null" } ?? "null" }
        func row(_ r: ReportRow) -> String {
            var s = "{\"key\":\(jsonString(r.key))"
            s += ",\"start\":" + (r.start.map { jsonString(cal.minuteString($0)) } ?? "null")
            s += ",\"twitches\":\(r.twitches),\"simulated_twitches\":\(r.simulatedTwitches)"
            s +=
                ",\"rest_h\":\(fixed(r.exposure.rest / 3600, 4)),\"rate_per_rest_h\":\(num(r.ratePerRestHour, 3))"
            s +=
                ",\"active_h\":\(fixed(r.exposure.active / 3600, 4)),\"not_worn_h\":\(fixed(r.exposure.notWorn / 3600, 4))"
            s +=
                ",\"gap_h\":\(fixed(r.exposure.gap / 3600, 4)),\"samples_lost\":\(Int(r.samplesLost.rounded()))"
            s += ",\"median_peak_mg\":\(num(r.medianPeakMg, 2))}"
            return s
        }
        var s = "{\"format\":1,\"source\":\(jsonString(settings.source.description))"
        s +=
            ",\"since\":"
            + (settings.sinceUsec.map { jsonString(cal.minuteString(Int64.floorDiv($0, 1_000_000))) }
                ?? "null")
        s +=
            ",\"until\":"
            + (settings.untilUsec.map { jsonString(cal.minuteString(Int64.floorDiv($0, 1_000_000))) }
                ?? "null")
        s +=
            ",\"utc\":\(settings.utc),\"by\":\"\(settings.grouping.rawValue)\",\"simulated_included\":\(settings.includeSimulated)"
        s += ",\"rows\":[" + rows.map(row).joined(separator: ",") + "],\"total\":" + row(total)
        s +=
            ",\"notes\":["
            + notes.map { n in
                "{\"time\":\(jsonString(cal.minuteString(Int64.floorDiv(n.timeUsec, 1_000_000)))),\"time_realtime_usec\":\(n.timeUsec),\"kind\":\(jsonString(n.kind)),\"text\":\(jsonString(n.text)),\"location\":\(n.location.map(jsonString) ?? "null"),\"uid\":\(n.uid),\"machine\":\(jsonString(n.machine))}"
            }.joined(separator: ",") + "]"
        s +=
            ",\"note_comparisons\":["
            + comparisons.map { c in
                "{\"kind\":\(jsonString(c.kind)),\"notes\":\(c.notes),\"window_h\":[\(fixed(c.windowHours.lowerBound, 2)),\(fixed(c.windowHours.upperBound, 2))],\"twitches_after\":\(c.twitchesAfter),\"rest_h_after\":\(fixed(c.restHoursAfter, 4)),\"twitches_other\":\(c.twitchesOther),\"rest_h_other\":\(fixed(c.restHoursOther, 4)),\"enough_data\":\(c.enoughData),\"ratio\":\(num(c.ratio, 4)),\"ci95_low\":\(num(c.lower, 4)),\"ci95_high\":\(num(c.upper, 4)),\"summary\":\(jsonString(c.summary))}"
            }.joined(separator: ",") + "]"
        s +=
            ",\"left_out\":{\"untrusted\":\(untrusted),\"simulated\":\(simulatedSkipped),\"duplicates\":\(duplicates),\"malformed\":\(malformed)}}"
        return s + "\n"
    }

    /// One CSV line per row, then `total` (header line first).
    public func csv() -> String {
        var s =
            "key,twitches,simulated_twitches,rest_h,rate_per_rest_h,active_h,not_worn_h,gap_h,samples_lost,median_peak_mg\n"
        for r in rows + [total] {
            let key =
                r.key.contains(",") || r.key.contains("\"")
                ? "\"" + r.key.replacing("\"", with: "\"\"") + "\"" : r.key
            s += "\(key),\(r.twitches),\(r.simulatedTwitches),\(fixed(r.exposure.rest / 3600, 4)),"
            s += "\(r.ratePerRestHour.map { fixed($0, 3) } ?? ""),\(fixed(r.exposure.active / 3600, 4)),"
            s += "\(fixed(r.exposure.notWorn / 3600, 4)),\(fixed(r.exposure.gap / 3600, 4)),"
            s += "\(Int(r.samplesLost.rounded())),\(r.medianPeakMg.map { fixed($0, 2) } ?? "")\n"
        }
        return s
    }
}
