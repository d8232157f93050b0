import ArgumentParser
import Report
import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `twitchd report`: how many twitches, per hour of rest, when, where, after what.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Count twitches per hour of rest from the journal: by day, hour, location, wearer.",
        discussion: """
            Reads twitchd's entries back from the journal (like journalctl: the system journal, \
            --namespace, --directory or --file). Every count comes with the hours the limb was at \
            rest with the sensor worn, and the rate per hour of rest; time when the daemon was not \
            running, the sensor was lost, the limb moved or the sensor was not worn is not rest. \
            With notes (`twitchd note`), each kind is compared: the rate in the hours after it \
            against the rest of the time, with an exact 95 % confidence interval.

            Only trusted entries count: in the system journal those of the twitchd service \
            (_SYSTEMD_UNIT=twitchd.service); in a namespace, directory or file also those of the \
            twitchd program (_COMM=twitchd) run by root, the twitchd user, you, or a --trust-uid. \
            Simulated entries (twitchd demo, sim: buses) count only with --simulated.

            Examples:
              twitchd report                                 today and the 6 days before, by day
              twitchd report --since today --by hour
              twitchd report --since -30d --by hour-of-day
              twitchd report --since 2026-11-01 --until 2026-12-01 --by week --format csv > nov.csv
              twitchd report --namespace twitchd-demo --simulated --since today
              twitchd report --html report.html --since -30d  one file with charts, for a phone or print
              twitchd report --directory /var/log/journal/remote --by machine     many wearers
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @Option(
        name: .long, parsing: .unconditional,
        help:
            "From: today, yesterday, -7d, -12h, 2026-11-01, \"2026-11-01 08:00\" (default: -6 days from midnight)."
    )
    var since: String?

    @Option(name: .long, parsing: .unconditional, help: "Until (exclusive), same forms (default: now).")
    var until: String?

    @Option(name: .long, help: "Rows: day, hour, hour-of-day, week, location, sensor, machine.")
    var by: String = "day"

    @Option(name: .long, help: "Read journal namespace NAME.")
    var namespace: String?

    @Option(name: .long, help: "Read the journal files in DIR (e.g. /var/log/journal/remote).")
    var directory: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Read these journal files.")
    var file: [String] = []

    @Flag(name: .long, help: "Count simulated entries too (labelled as such).")
    var simulated = false

    @Option(
        name: .long, help: "Also trust the twitchd program run by this uid (namespaces, directories, files).")
    var trustUid: [Int] = []

    @Option(name: .long, help: "Hours after a note that count as after it, e.g. 0-3 or 1-4.")
    var window: String = "0-3"

    @Flag(
        name: .long,
        help:
            "Read the journal directly, without the cache of what earlier reports read (~/.cache/twitchd/report)."
    )
    var noCache = false

    @Flag(name: .long, help: "Times in UTC instead of local time.")
    var utc = false

    @Option(name: .long, help: "table (default), json or csv.")
    var format: Format = .table

    @Option(name: .long, help: "Also write a self-contained HTML report with charts to FILE.")
    var html: String?

    func run() throws {
        guard let grouping = Grouping(rawValue: by) else {
            throw ValidationError(
                "--by: expected one of \(Grouping.allCases.map(\.rawValue).joined(separator: ", ")), got \(by)"
            )
        }
        let sources = [namespace != nil, directory != nil, !file.isEmpty].filter { $0 }.count
        guard sources <= 1 else {
            throw ValidationError("give at most one of --namespace, --directory, --file")
        }
        var settings = ReportSettings()
        if let namespace {
            settings.source = .namespace(namespace)
        } else if let directory {
            settings.source = .directory(directory)
        } else if !file.isEmpty {
            settings.source = .files(file)
        }
        settings.grouping = grouping
        settings.utc = utc
        settings.includeSimulated = simulated
        settings.version = twitchdVersion
        settings.commandLine = CommandLine.arguments.joined(separator: " ")
        let cal = ReportCalendar(utc: utc)
        let now = Int64(time(nil))
        let from =
            try since.map { text -> Int64 in
                guard let t = cal.parseMoment(text, now: now) else {
                    throw ValidationError(
                        "--since: expected today, yesterday, -7d, 2026-11-01 or \"2026-11-01 08:00\"; got \(text)"
                    )
                }
                return t
            } ?? cal.addDays(cal.startOfDay(now), -6)
        let to = try until.map { text -> Int64 in
            guard let t = cal.parseMoment(text, now: now) else {
                throw ValidationError(
                    "--until: expected today, yesterday, -7d, 2026-11-01 or \"2026-11-01 08:00\"; got \(text)"
                )
            }
            return t
        }
        if let to, to <= from { throw ValidationError("--until must be after --since") }
        settings.sinceUsec = from * 1_000_000
        // Without --until: up to this moment (to the microsecond, plus a second for an entry
        // written just now).
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        let nowUsec = Int64(clock.tv_sec) * 1_000_000 + Int64(clock.tv_nsec / 1000) + 1_000_000
        settings.untilUsec = to.map { $0 * 1_000_000 } ?? nowUsec
        let w = window.split(separator: "-", maxSplits: 1).map { Double($0) }
        guard w.count == 2, let w0 = w[0], let w1 = w[1], w0.isFinite, w1.isFinite, w0 >= 0, w1 > w0, w1 <= 72
        else {
            throw ValidationError(
                "--window: expected hours after a note like 0-3 or 1-4 (at most 72), got \(window)")
        }
        settings.windowHours = w0...w1
        let policy = TrustPolicy.standard(
            for: settings.source, includeSimulated: simulated, extraUIDs: trustUid)
        let data: ReportData
        do {
            data = try JournalReader.read(
                settings.source, policy: policy, sinceUsec: settings.sinceUsec, untilUsec: settings.untilUsec,
                cache: !noCache)
        } catch {
            writeStandardError("twitchd report: \(error.description)\n")
            throw ExitCode(error.exit.rawValue)
        }
        settings.charts = html != nil
        let report = Report(data, settings: settings)
        switch format {
        case .table: writeStandardOutput(report.table())
        case .json: writeStandardOutput(report.json())
        case .csv: writeStandardOutput(report.csv())
        }
        if let html {
            let page = report.html()
            guard FileManager.default.createFile(atPath: html, contents: Data(page.utf8)) else {
                writeStandardError("twitchd report: cannot write \(html)\n")
                throw ExitCode(SysExit.cantCreate.rawValue)
            }
            if format == .table { writeStandardError("wrote \(html)\n") }
        }
    }
}
