import Testing
import TwitchCore

@testable import Report

/// Microseconds of a UTC moment `h` hours after 2026-11-30 00:00 UTC.
func usec(hours h: Double) -> Int64 { 1_795_996_800_000_000 + Int64(h * 3_600_000_000) }

func settings(_ g: Grouping, since: Double? = nil, until: Double? = nil) -> ReportSettings {
    var s = ReportSettings()
    s.grouping = g
    s.utc = true
    s.sinceUsec = since.map { usec(hours: $0) }
    s.untilUsec = until.map { usec(hours: $0) }
    return s
}

/// A ten-minute exposure period of `rest` seconds at rest (the rest active) beginning `h` hours in.
func period(
    _ h: Double, rest: Double = 600, gap: Double = 0, location: String = "left-calf", machine: String = ""
)
    -> ExposureRecord
{
    ExposureRecord(
        startUsec: usec(hours: h), endUsec: usec(hours: h + 1.0 / 6), location: location, rest: rest,
        active: 600 - rest - gap, gap: gap, machine: machine)
}

@Suite struct ExposureArithmeticTests {
    @Test func countsComeWithRestHoursAndRate() throws {
        var data = ReportData()
        data.exposures = (0..<6).map { period(10 + Double($0) / 6) }  // 10:00-11:00, all rest
        data.twitches = (0..<30).map {
            TwitchRecord(timeUsec: usec(hours: 10 + Double($0) / 30), location: "left-calf")
        }
        let report = Report(data, settings: settings(.day))
        #expect(report.rows.count == 1)
        let row = try #require(report.rows.first)
        #expect(row.key == "2026-11-30")
        #expect(row.twitches == 30)
        #expect(abs(row.exposure.rest - 3600) < 1e-9)
        #expect(abs((row.ratePerRestHour ?? 0) - 30) < 1e-9)
    }

    @Test func aPeriodAcrossMidnightIsSplitByTime() throws {
        var data = ReportData()
        // 23:55 to 00:05: half of each condition on each day.
        data.exposures = [
            ExposureRecord(
                startUsec: usec(hours: 24 - 5.0 / 60), endUsec: usec(hours: 24 + 5.0 / 60), location: "a",
                rest: 400, active: 200)
        ]
        let report = Report(data, settings: settings(.day))
        #expect(report.rows.map(\.key) == ["2026-11-30", "2026-12-01"])
        #expect(abs(report.rows[0].exposure.rest - 200) < 1e-6)
        #expect(abs(report.rows[1].exposure.rest - 200) < 1e-6)
        #expect(abs(report.rows[1].exposure.active - 100) < 1e-6)
    }

    @Test func timeWithoutTheDaemonIsNotRest() throws {
        // A daemon ran 08:00-09:00, stopped (no entries), and ran again 12:00-13:00 (a restart or a
        // reboot: new sequence numbers, a new monotonic clock). The three hours between count as
        // nothing at all, and the day has 2 h of rest, not 5.
        var data = ReportData()
        data.exposures =
            (0..<6).map { period(8 + Double($0) / 6) } + (0..<6).map { period(12 + Double($0) / 6) }
        data.twitches = [TwitchRecord(timeUsec: usec(hours: 8.5), location: "left-calf")]
        let report = Report(data, settings: settings(.day))
        #expect(abs(report.total.exposure.rest - 7200) < 1e-6)
        #expect(abs(report.total.exposure.total - 7200) < 1e-6)
        #expect(abs((report.total.ratePerRestHour ?? 0) - 0.5) < 1e-9)
        // By hour: the hours without the daemon have no row at all.
        let hourly = Report(data, settings: settings(.hour))
        #expect(hourly.rows.map(\.key) == ["2026-11-30 08:00", "2026-11-30 12:00"])
    }

    @Test func gapsAndNotWornAreNotRest() throws {
        var data = ReportData()
        data.exposures = [
            ExposureRecord(
                startUsec: usec(hours: 1), endUsec: usec(hours: 2), location: "a", rest: 1800, active: 600,
                notWorn: 600, gap: 600, samplesLost: 1234)
        ]
        data.twitches = (0..<10).map {
            TwitchRecord(timeUsec: usec(hours: 1 + Double($0) / 20), location: "a")
        }
        let r = Report(data, settings: settings(.day)).total
        #expect(abs(r.exposure.rest - 1800) < 1e-9)
        #expect(abs(r.exposure.gap - 600) < 1e-9)
        #expect(abs(r.exposure.notWorn - 600) < 1e-9)
        #expect(abs((r.ratePerRestHour ?? 0) - 20) < 1e-9)
        #expect(Int(r.samplesLost) == 1234)
    }

    @Test func theRangeClipsPeriodsProportionally() throws {
        var data = ReportData()
        data.exposures = [period(9.9, rest: 600)]  // 09:54-10:04
        let report = Report(data, settings: settings(.day, since: 10, until: 20))
        #expect(abs(report.total.exposure.rest - 240) < 1e-6)
    }

    @Test func hourOfDayAddsTheSameHourOfEveryDay() throws {
        var data = ReportData()
        data.exposures = [period(7), period(31), period(8)]
        data.twitches = [
            TwitchRecord(timeUsec: usec(hours: 7.05), location: "a"),
            TwitchRecord(timeUsec: usec(hours: 31.05), location: "a"),
        ]
        let report = Report(data, settings: settings(.hourOfDay))
        #expect(report.rows.map(\.key) == ["07:00", "08:00"])
        #expect(report.rows[0].twitches == 2)
        #expect(abs(report.rows[0].exposure.rest - 1200) < 1e-9)
    }

    @Test func groupsByLocationAndMachine() throws {
        var data = ReportData()
        data.exposures = [
            period(1, location: "left-calf", machine: "p01"),
            period(1, location: "right-calf", machine: "p02"),
        ]
        data.twitches = [
            TwitchRecord(timeUsec: usec(hours: 1.1), location: "left-calf", machine: "p01"),
            TwitchRecord(timeUsec: usec(hours: 1.1), location: "right-calf", machine: "p02"),
            TwitchRecord(timeUsec: usec(hours: 1.12), location: "right-calf", machine: "p02"),
        ]
        let byMachine = Report(data, settings: settings(.machine))
        #expect(byMachine.rows.map(\.key) == ["p01", "p02"])
        #expect(byMachine.rows.map(\.twitches) == [1, 2])
        let byLocation = Report(data, settings: settings(.location))
        #expect(byLocation.rows.map(\.key) == ["left-calf", "right-calf"])
    }

    @Test func weeksBeginOnMonday() throws {
        var data = ReportData()
        // 2026-11-30 is a Monday; 2026-11-29 a Sunday.
        data.twitches = [
            TwitchRecord(timeUsec: usec(hours: -1), location: "a"),
            TwitchRecord(timeUsec: usec(hours: 1), location: "a"),
            TwitchRecord(timeUsec: usec(hours: 24 * 6 + 1), location: "a"),
        ]
        let report = Report(data, settings: settings(.week))
        #expect(report.rows.map(\.key) == ["week of 2026-11-23", "week of 2026-11-30"])
        #expect(report.rows.map(\.twitches) == [1, 2])
    }
}

@Suite struct NoteComparisonTests {
    /// 20 hours of rest (10:00 to 06:00), a twitch every 6 minutes, and three times as many in the
    /// 3 hours after each of two coffee notes.
    func data() -> ReportData {
        var d = ReportData()
        d.exposures = (0..<(20 * 6)).map { period(10 + Double($0) / 6) }
        var t: [TwitchRecord] = []
        for i in 0..<(20 * 10) {
            let h = 10 + Double(i) / 10
            let after = (h >= 12 && h < 15) || (h >= 20 && h < 23)
            for j in 0..<(after ? 3 : 1) {
                t.append(TwitchRecord(timeUsec: usec(hours: h + Double(j) / 100), location: "left-calf"))
            }
        }
        d.twitches = t
        d.notes = [
            NoteRecord(timeUsec: usec(hours: 12), kind: "caffeine"),
            NoteRecord(timeUsec: usec(hours: 20), kind: "caffeine"),
        ]
        return d
    }

    @Test func comparesTheHoursAfterNotesWithTheRest() throws {
        let report = Report(data(), settings: settings(.day))
        let c = try #require(report.comparisons.first)
        #expect(c.kind == "caffeine")
        #expect(c.notes == 2)
        #expect(c.twitchesAfter == 180)
        #expect(abs(c.restHoursAfter - 6) < 1e-9)
        #expect(c.twitchesOther == 140)
        #expect(abs(c.restHoursOther - 14) < 1e-9)
        #expect(abs((c.ratio ?? 0) - 3) < 1e-9)
        let ref = try #require(RateRatio.interval(k1: 180, t1: 6, k2: 140, t2: 14))
        #expect(c.lower == ref.lower && c.upper == ref.upper)
        #expect(c.summary.hasPrefix("3.0x the usual rate, 95 % CI"))
    }

    @Test func overlappingWindowsCountOnce() throws {
        var d = data()
        d.notes.append(NoteRecord(timeUsec: usec(hours: 13), kind: "caffeine"))  // inside the first window
        let c = try #require(Report(d, settings: settings(.day)).comparisons.first)
        #expect(abs(c.restHoursAfter - 7) < 1e-9)  // 12-16 and 20-23
    }

    @Test func tooLittleDataSaysSo() throws {
        var d = ReportData()
        d.exposures = [period(10), period(10 + 1.0 / 6)]
        d.twitches = [TwitchRecord(timeUsec: usec(hours: 10.05), location: "a")]
        d.notes = [NoteRecord(timeUsec: usec(hours: 10), kind: "stress")]
        let c = try #require(Report(d, settings: settings(.day)).comparisons.first)
        #expect(c.ratio == nil)
        #expect(c.summary.hasPrefix("too little data"))
    }

    @Test func freeTextNotesAreComparedPerText() throws {
        var d = data()
        d.notes = [
            NoteRecord(timeUsec: usec(hours: 12), kind: "text", text: "Magnesium 400 mg"),
            NoteRecord(timeUsec: usec(hours: 20), kind: "text", text: "magnesium 400 mg"),
        ]
        let report = Report(d, settings: settings(.day))
        #expect(report.comparisons.map(\.kind) == ["magnesium 400 mg"])
    }
}

@Suite struct TimeParsingTests {
    let cal = ReportCalendar(utc: true)
    let now: Int64 = 1_796_034_600  // 2026-11-30 10:30 UTC

    @Test func journalctlForms() {
        #expect(cal.parseMoment("today", now: now) == 1_795_996_800)
        let y = cal.parseMoment("yesterday", now: now)
        #expect(y == 1_795_910_400)
        #expect(cal.parseMoment("-7d", now: now) == now - 7 * 86400)
        #expect(cal.parseMoment("-2h", now: now) == now - 7200)
        #expect(cal.parseMoment("2026-11-01", now: now) == 1_793_491_200)
        #expect(cal.parseMoment("2026-11-01 08:30", now: now) == 1_793_521_800)
        #expect(cal.parseMoment("2026-11-01T08:30:15", now: now) == 1_793_521_815)
    }

    @Test func refusesWhatIsNotATime() {
        for bad in ["", "soon", "2026-02-31", "2026-13-01", "-7x", "2026-11-01 25:00", "-99999999999d"] {
            #expect(cal.parseMoment(bad, now: now) == nil, "\(bad)")
        }
    }
}

@Suite struct OutputTests {
    func report() -> Report {
        var d = ReportData()
        d.exposures = [period(10), period(10 + 1.0 / 6)]
        d.twitches = (0..<5).map {
            TwitchRecord(
                timeUsec: usec(hours: 10 + Double($0) / 20), location: "left-calf", peakMg: Double($0 + 1))
        }
        d.untrusted = 3
        return Report(d, settings: settings(.day))
    }

    @Test func csvHasOneLinePerRowAndTotal() {
        let lines = report().csv().split(separator: "\n")
        #expect(
            lines.first
                == "key,twitches,simulated_twitches,rest_h,rate_per_rest_h,active_h,not_worn_h,gap_h,samples_lost,median_peak_mg"
        )
        #expect(lines.count == 3)
        #expect(lines[1] == "2026-11-30,5,0,0.3333,15.000,0.0000,0.0000,0.0000,0,3.00")
        #expect(lines[2].hasPrefix("total,5,"))
    }

    @Test func jsonCarriesTheDocumentedFields() {
        let json = report().json()
        for field in [
            "\"format\":1", "\"by\":\"day\"", "\"twitches\":5", "\"rest_h\":0.3333",
            "\"rate_per_rest_h\":15.000",
            "\"left_out\":{\"untrusted\":3", "\"note_comparisons\":[]", "\"median_peak_mg\":3.00",
        ] {
            #expect(json.contains(field), "\(field)")
        }
    }

    @Test func tableIsAligned() {
        let lines = report().table().split(separator: "\n", omittingEmptySubsequences: false)
        let header = lines.first { $0.hasPrefix("day ") } ?? ""
        let row = lines.first { $0.hasPrefix("2026-11-30") } ?? ""
        #expect(!header.isEmpty && header.count == row.count)
        #expect(report().table().contains("Left out: 3 untrusted"))
    }
}
