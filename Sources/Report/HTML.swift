// The report as one self-contained HTML page: inline CSS and SVG charts, nothing fetched from
// anywhere, readable on a phone (the charts scale to the width) and printable.

import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension Report {
    /// One self-contained HTML page with the table's numbers and SVG charts: daily rate per hour
    /// of rest with the counts and the notes on the timeline, an hour-of-day by day heat map, per
    /// location, amplitude and frequency distributions, and the note comparisons.
    ///
    /// Every chart is an `<svg data-chart="NAME">`; bars are `rect.bar`, heat-map cells
    /// `rect.cell`, note marks `line.note`, comparison points `circle.ratio` (the browser test
    /// counts them). A small inline script (no external ones) writes those counts and any error
    /// into `#selfcheck`.
    public func html() -> String {
        let cal = ReportCalendar(utc: settings.utc)
        var h = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>twitchd report</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:60rem;padding:0.8rem;color:#222;background:#fff;line-height:1.4}
            h1{font-size:1.4rem;margin:0.2rem 0} h2{font-size:1.1rem;margin:1.4rem 0 0.3rem;border-bottom:1px solid #ddd}
            .sub{color:#555;font-size:0.9rem} .sim{background:#fff3cd;border:1px solid #e0c060;padding:0.4rem;border-radius:4px}
            .warn{font-weight:600}
            svg{width:100%;height:auto;display:block} svg text{font-size:11px;fill:#333}
            .bar{fill:#3b7dd8} .bar.simulated{fill:#d89a3b} .axis{stroke:#999;stroke-width:1} .note{stroke:#c0392b;stroke-width:1.5;stroke-dasharray:3 2}
            .ci{stroke:#333;stroke-width:2} .ratio{fill:#c0392b} .one{stroke:#999;stroke-dasharray:4 3}
            table{border-collapse:collapse;font-size:0.85rem;width:100%} td,th{padding:0.15rem 0.4rem;text-align:right;border-bottom:1px solid #eee} td:first-child,th:first-child{text-align:left}
            .scroll{overflow-x:auto} footer{margin-top:2rem;font-size:0.8rem;color:#555;border-top:1px solid #ddd;padding-top:0.5rem}
            @media print{body{max-width:none} h2{break-after:avoid} svg,table{break-inside:avoid}}
            </style></head><body>

            """
        h += "<h1>Twitches per hour of rest</h1>\n"
        h += "<p class=\"sub\">\(esc(settings.source.description)), \(esc(rangeText)). "
        h += "\(total.twitches) twitches in \(fixed(total.exposure.rest / 3600, 1)) h of worn rest"
        if let r = total.ratePerRestHour { h += ": <b>\(fixed(r, 1)) per hour of rest</b>" }
        h += ".</p>\n"
        if settings.includeSimulated {
            h +=
                "<p class=\"sim\"><span class=\"warn\">Simulated entries included:</span> \(total.simulatedTwitches) of \(total.twitches) twitches come from a simulator (twitchd demo or a sim: bus), not from a person. They are drawn in orange.</p>\n"
        }

        // 1. Daily rate with counts, notes on the timeline.
        h += "<h2>Each day: twitches per hour of rest</h2>\n"
        h += dailyChart(cal)
        // 2. Heat map.
        h += "<h2>Hour of day, day by day</h2>\n"
        h += heatMap()
        // 3. Per location.
        h += "<h2>Per location</h2>\n"
        h += horizontalBars(byLocation, name: "location")
        // 4-5. Distributions.
        h += "<h2>How strong: peak acceleration</h2>\n"
        let ampEdges = [0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 1e9]
        h += histogram(total.peaks, edges: ampEdges, name: "amplitude", unit: "mg")
        h += "<h2>How fast: dominant frequency</h2>\n"
        let freqEdges = stride(from: 4.0, through: 36, by: 2).map { $0 }
        h += histogram(total.frequencies, edges: freqEdges, name: "frequency", unit: "Hz")
        // 6. Notes.
        h += "<h2>After notes</h2>\n"
        h += comparisonChart()
        if !notes.isEmpty {
            h +=
                "<div class=\"scroll\"><table><tr><th>when</th><th>note</th><th>location</th><th>by uid</th></tr>\n"
            for n in notes.suffix(200) {
                h +=
                    "<tr><td>\(esc(cal.minuteString(Int64.floorDiv(n.timeUsec, 1_000_000))))</td><td>\(esc(n.text))</td><td>\(esc(n.location ?? ""))</td><td>\(n.uid)</td></tr>\n"
            }
            h += "</table></div>\n"
        }
        // The numbers.
        h += "<h2>The numbers, by \(esc(groupTitle))</h2>\n<div class=\"scroll\"><table>\n"
        h +=
            "<tr><th>\(esc(groupTitle))</th><th>twitches</th><th>rest h</th><th>per rest h</th><th>active h</th><th>not worn h</th><th>no samples h</th></tr>\n"
        for r in rows + [total] {
            h += "<tr><td>\(esc(r.key))\(r.simulatedTwitches > 0 && r.key != "total" ? " (sim)" : "")</td>"
            h += "<td>\(r.twitches)</td><td>\(fixed(r.exposure.rest / 3600, 2))</td>"
            h +=
                "<td>\(r.ratePerRestHour.map { fixed($0, 1) } ?? "-")</td><td>\(fixed(r.exposure.active / 3600, 2))</td>"
            h +=
                "<td>\(fixed(r.exposure.notWorn / 3600, 2))</td><td>\(fixed(r.exposure.gap / 3600, 2))</td></tr>\n"
        }
        h += "</table></div>\n"
        let left = leftOutText().trimmed
        if !left.isEmpty { h += "<p class=\"sub\">\(esc(left))</p>\n" }
        h +=
            "<footer><p><b>twitchd is not a medical device.</b> It counts and describes twitches; it does not diagnose anything, and no count or rate here says anything about disease.</p>\n"
        h +=
            "<p>Made by twitchd \(esc(settings.version)): <code>\(esc(settings.commandLine))</code>. Rates are twitches per hour of worn rest; time moving, not worn, without samples or without the daemon running is not rest. Note windows: \(fixed(settings.windowHours.lowerBound, 1))-\(fixed(settings.windowHours.upperBound, 1)) h after each note; intervals are exact (conditional binomial) 95 % intervals. Times: \(settings.utc ? "UTC" : "local time").</p></footer>\n"
        h += """
            <div id="selfcheck" hidden></div>
            <script>
            (function(){var out=document.getElementById('selfcheck');var errors=[];
            window.addEventListener('error',function(e){errors.push(String(e.message));});
            function count(){var r={};document.querySelectorAll('svg[data-chart]').forEach(function(s){
            var n=s.getAttribute('data-chart');r[n]={bars:s.querySelectorAll('rect.bar').length,cells:s.querySelectorAll('rect.cell').length,
            notes:s.querySelectorAll('line.note').length,ratios:s.querySelectorAll('circle.ratio').length,svg:s instanceof SVGSVGElement};});
            out.textContent=JSON.stringify({charts:r,errors:errors});}
            try{count();}catch(e){errors.push(String(e));out.textContent=JSON.stringify({errors:errors});}})();
            </script>
            </body></html>

            """
        return h
    }

    private func dailyChart(_ cal: ReportCalendar) -> String {
        let n = max(1, days.count)
        let w = 720.0
        let hgt = 220.0
        let left = 36.0
        let top = 18.0
        let bottom = 40.0
        let plotH = hgt - top - bottom
        let step = (w - left - 8) / Double(n)
        let maxRate = max(1, days.compactMap(\.ratePerRestHour).max() ?? 1)
        var s =
            "<svg data-chart=\"daily\" viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" role=\"img\" aria-label=\"twitches per hour of rest, each day\">\n"
        s +=
            "<line class=\"axis\" x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(w - 8)\" y2=\"\(top + plotH)\"/>\n"
        s +=
            "<text x=\"2\" y=\"\(top + 4)\">\(fixed(maxRate, 0))/h</text><text x=\"2\" y=\"\(top + plotH)\">0</text>\n"
        for (i, d) in days.enumerated() {
            let rate = d.ratePerRestHour ?? 0
            let bh = plotH * rate / maxRate
            let x = left + Double(i) * step + step * 0.1
            let cls = d.simulatedTwitches > 0 ? "bar simulated" : "bar"
            s +=
                "<rect class=\"\(cls)\" x=\"\(fixed(x, 1))\" y=\"\(fixed(top + plotH - bh, 1))\" width=\"\(fixed(step * 0.8, 1))\" height=\"\(fixed(bh, 1))\"><title>\(esc(d.key)): \(d.twitches) twitches in \(fixed(d.exposure.rest / 3600, 1)) h of rest\(d.ratePerRestHour.map { ", \(fixed($0, 1))/h" } ?? "")</title></rect>\n"
            if n <= 31 {
                s +=
                    "<text x=\"\(fixed(x + step * 0.4, 1))\" y=\"\(fixed(top + plotH - bh - 3, 1))\" text-anchor=\"middle\">\(d.twitches)</text>\n"
            }
            let every = max(1, n / 10)
            if i % every == 0 {
                s +=
                    "<text x=\"\(fixed(x + step * 0.4, 1))\" y=\"\(fixed(top + plotH + 14, 1))\" text-anchor=\"middle\">\(esc(String(d.key.dropFirst(5))))</text>\n"
            }
        }
        // Notes on the timeline: placed by time within the days shown.
        if let first = days.first?.start, let lastDay = days.last?.start {
            let end = cal.addDays(lastDay, 1)
            let span = Double(max(1, end - first))
            for note in notes {
                let t = Double(Int64.floorDiv(note.timeUsec, 1_000_000) - first)
                guard t >= 0, t <= span else { continue }
                let x = left + (w - left - 8) * t / span
                s +=
                    "<line class=\"note\" x1=\"\(fixed(x, 1))\" y1=\"\(top)\" x2=\"\(fixed(x, 1))\" y2=\"\(top + plotH)\"><title>\(esc(cal.minuteString(Int64.floorDiv(note.timeUsec, 1_000_000)))) \(esc(note.text))</title></line>\n"
            }
        }
        s +=
            "<text x=\"\(left)\" y=\"\(hgt - 6)\">bars: twitches per hour of rest\(n <= 31 ? " (number: twitches)" : ""); dashed red lines: notes</text>\n"
        return s + "</svg>\n"
    }

    private func heatMap() -> String {
        let rowsN = max(1, days.count)
        let cell = 24.0
        let left = 74.0
        let top = 16.0
        let rowH = min(16.0, max(3.0, 480.0 / Double(rowsN)))
        let w = left + 24 * cell + 8
        let hgt = top + Double(rowsN) * rowH + 24
        var maxRate = 0.0
        for (d, row) in heat.enumerated() {
            for hour in 0..<24 where heatRest[d][hour] >= 0.1 {
                maxRate = max(maxRate, Double(row[hour]) / heatRest[d][hour])
            }
        }
        var s =
            "<svg data-chart=\"heatmap\" viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" role=\"img\" aria-label=\"twitches per hour of rest by hour of day and day\">\n"
        for hour in stride(from: 0, to: 24, by: 3) {
            s += "<text x=\"\(fixed(left + Double(hour) * cell + 2, 1))\" y=\"\(top - 4)\">\(hour)h</text>\n"
        }
        let labelEvery = max(1, Int((12.0 / rowH).rounded(.up)))
        for (d, day) in days.enumerated() {
            let y = top + Double(d) * rowH
            if d % labelEvery == 0 {
                s += "<text x=\"2\" y=\"\(fixed(y + min(rowH, 12) - 1, 1))\">\(esc(day.key))</text>\n"
            }
            for hour in 0..<24 {
                let rest = heatRest[d][hour]
                let count = heat[d][hour]
                let fill: String
                if rest < 0.01 {
                    fill = "#f2f2f2"
                } else {
                    let v = maxRate > 0 ? min(1, Double(count) / rest / maxRate) : 0
                    let light = Int((95 - v * 55).rounded())
                    fill = "hsl(215,70%,\(light)%)"
                }
                s +=
                    "<rect class=\"cell\" x=\"\(fixed(left + Double(hour) * cell, 1))\" y=\"\(fixed(y, 1))\" width=\"\(fixed(cell - 1, 1))\" height=\"\(fixed(max(1, rowH - 1), 1))\" fill=\"\(fill)\"><title>\(esc(day.key)) \(hour):00: \(count) twitches, \(fixed(rest, 2)) h rest</title></rect>\n"
            }
        }
        s +=
            "<text x=\"\(left)\" y=\"\(fixed(hgt - 6, 1))\">darker: more twitches per hour of rest; grey: no rest recorded</text>\n"
        return s + "</svg>\n"
    }

    private func horizontalBars(_ list: [ReportRow], name: String) -> String {
        let rowH = 22.0
        let left = 120.0
        let w = 720.0
        let hgt = Double(max(1, list.count)) * rowH + 10
        let maxRate = max(1, list.compactMap(\.ratePerRestHour).max() ?? 1)
        var s =
            "<svg data-chart=\"\(name)\" viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" role=\"img\" aria-label=\"per \(name)\">\n"
        for (i, r) in list.enumerated() {
            let y = 4 + Double(i) * rowH
            let bw = (w - left - 160) * (r.ratePerRestHour ?? 0) / maxRate
            s += "<text x=\"2\" y=\"\(fixed(y + 14, 1))\">\(esc(r.key))</text>\n"
            s +=
                "<rect class=\"\(r.simulatedTwitches > 0 ? "bar simulated" : "bar")\" x=\"\(left)\" y=\"\(fixed(y + 2, 1))\" width=\"\(fixed(bw, 1))\" height=\"\(rowH - 6)\"/>\n"
            s +=
                "<text x=\"\(fixed(left + bw + 4, 1))\" y=\"\(fixed(y + 14, 1))\">\(r.ratePerRestHour.map { "\(fixed($0, 1))/h" } ?? "-"), \(r.twitches) in \(fixed(r.exposure.rest / 3600, 1)) h</text>\n"
        }
        return s + "</svg>\n"
    }

    private func histogram(_ values: [Double], edges: [Double], name: String, unit: String) -> String {
        var counts = Array(repeating: 0, count: edges.count - 1)
        for v in values where v.isFinite {
            var lo = 0
            var hi = edges.count - 1
            guard v >= edges[0] else {
                counts[0] += 1
                continue
            }
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if v >= edges[mid] { lo = mid } else { hi = mid }
            }
            counts[min(lo, counts.count - 1)] += 1
        }
        let w = 720.0
        let hgt = 170.0
        let top = 14.0
        let plotH = 120.0
        let step = (w - 16) / Double(counts.count)
        let maxC = max(1, counts.max() ?? 1)
        var s =
            "<svg data-chart=\"\(name)\" viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" role=\"img\" aria-label=\"\(name) distribution\">\n"
        s += "<line class=\"axis\" x1=\"8\" y1=\"\(top + plotH)\" x2=\"\(w - 8)\" y2=\"\(top + plotH)\"/>\n"
        for (i, c) in counts.enumerated() {
            let bh = plotH * Double(c) / Double(maxC)
            let x = 8 + Double(i) * step
            let digits = edges[i] == edges[i].rounded() ? 0 : 1
            let label = edges[i + 1] >= 1e8 ? "\(fixed(edges[i], digits))+" : fixed(edges[i], digits)
            s +=
                "<rect class=\"bar\" x=\"\(fixed(x + 1, 1))\" y=\"\(fixed(top + plotH - bh, 1))\" width=\"\(fixed(step - 2, 1))\" height=\"\(fixed(bh, 1))\"><title>\(label) \(unit): \(c)</title></rect>\n"
            s +=
                "<text x=\"\(fixed(x + step / 2, 1))\" y=\"\(fixed(top + plotH - bh - 2, 1))\" text-anchor=\"middle\">\(c)</text>\n"
            s +=
                "<text x=\"\(fixed(x + step / 2, 1))\" y=\"\(top + plotH + 13)\" text-anchor=\"middle\">\(label)</text>\n"
        }
        s += "<text x=\"8\" y=\"\(hgt - 4)\">twitches per bin (\(unit), bin starts)</text>\n"
        return s + "</svg>\n"
    }

    private func comparisonChart() -> String {
        guard !comparisons.isEmpty else {
            return
                "<p class=\"sub\">No notes in this range (write some with <code>twitchd note caffeine</code>).</p>\n"
        }
        let rowH = 26.0
        let left = 130.0
        let w = 720.0
        let right = w - 20
        let hgt = Double(comparisons.count) * rowH + 30
        // Log scale from 1/8x to 8x.
        func x(_ r: Double) -> Double {
            let v = min(max(r, 0.125), 8)
            return left + (right - left) * (log2(v) + 3) / 6
        }
        var s =
            "<svg data-chart=\"notes\" viewBox=\"0 0 \(Int(w)) \(Int(hgt))\" role=\"img\" aria-label=\"rate after notes against other times\">\n"
        s +=
            "<line class=\"one\" x1=\"\(fixed(x(1), 1))\" y1=\"4\" x2=\"\(fixed(x(1), 1))\" y2=\"\(fixed(hgt - 22, 1))\"/>\n"
        for r in [0.25, 0.5, 1, 2, 4] {
            s +=
                "<text x=\"\(fixed(x(r), 1))\" y=\"\(fixed(hgt - 8, 1))\" text-anchor=\"middle\">\(r < 1 ? fixed(r, 2) : fixed(r, 0))x</text>\n"
        }
        for (i, c) in comparisons.enumerated() {
            let y = 4 + Double(i) * rowH + rowH / 2
            s += "<text x=\"2\" y=\"\(fixed(y + 4, 1))\">\(esc(c.kind)) (\(c.notes))</text>\n"
            if let ratio = c.ratio, let lo = c.lower, let hi = c.upper {
                s +=
                    "<line class=\"ci\" x1=\"\(fixed(x(lo), 1))\" y1=\"\(fixed(y, 1))\" x2=\"\(fixed(x(hi), 1))\" y2=\"\(fixed(y, 1))\"/>\n"
                s +=
                    "<circle class=\"ratio\" cx=\"\(fixed(x(ratio), 1))\" cy=\"\(fixed(y, 1))\" r=\"5\"><title>\(esc(c.summary))</title></circle>\n"
            } else {
                s += "<text x=\"\(fixed(left, 1))\" y=\"\(fixed(y + 4, 1))\">too little data</text>\n"
            }
        }
        s += "</svg>\n<ul>\n"
        for c in comparisons { s += "<li><b>\(esc(c.kind))</b>: \(esc(c.summary))</li>\n" }
        return s + "</ul>\n"
    }
}

/// `s` safe inside HTML text and attribute values.
func esc(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default:
            if ch.value < 0x20 && ch != "\n" && ch != "\t" { continue }
            out.unicodeScalars.append(ch)
        }
    }
    return out
}
