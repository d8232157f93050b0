import ArgumentParser
import Journal
import Report
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// `twitchd note`: a note in the journal (coffee, a run, a stressful day) for the report to
/// compare against.
struct Note: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "note",
        abstract: "Note something that may change the twitching (caffeine, exercise, stress...).",
        discussion: """
            Writes a journal entry (its own MESSAGE_ID, fields TWITCH_NOTE_KIND, TWITCH_NOTE, \
            TWITCH_NOTE_REALTIME_USEC, TWITCH_LOCATION) that `twitchd report` compares against: the \
            rate at rest in the hours after each kind of note against the rest of the time. Any user \
            may write notes; journald records who did (_UID).

            Kinds: caffeine, exercise, stress, alcohol, sleep; anything else is kept as free text.

            Examples:
              twitchd note caffeine
              twitchd note exercise --at "2026-12-01 08:30"
              twitchd note alcohol --at -3h
              twitchd note stress --location left-calf
              twitchd note "magnesium 400 mg"
              twitchd note caffeine --namespace twitchd-demo     into a journal namespace
            """)

    static let kinds = ["caffeine", "exercise", "stress", "alcohol", "sleep"]

    @Argument(help: "caffeine, exercise, stress, alcohol, sleep, or free text in quotes.")
    var what: [String]

    @Option(
        name: .long, parsing: .unconditional,
        help: "When it happened, local time: \"2026-12-01 08:30\", yesterday, -2h (default: now).")
    var at: String?

    @Option(name: .long, help: "The limb it concerns, e.g. left-calf (default: none in particular).")
    var location: String?

    @Option(name: .long, help: "Write into journal namespace NAME (/run/systemd/journal.NAME/socket).")
    var namespace: String?

    @Option(name: .long, help: "journald's native socket (default: the system journal).")
    var journalSocket: String?

    func run() throws {
        let text = what.joined(separator: " ").trimmed
        guard !text.isEmpty, text.utf8.count <= 1000 else {
            throw ValidationError(
                "note: give a kind (\(Self.kinds.joined(separator: ", "))) or up to 1000 bytes of text")
        }
        let kind = Self.kinds.contains(text.lowercased()) ? text.lowercased() : "text"
        var nowTime = timespec()
        clock_gettime(CLOCK_REALTIME, &nowTime)
        let now = Int64(nowTime.tv_sec)
        var when = Int64(nowTime.tv_sec) * 1_000_000 + Int64(nowTime.tv_nsec / 1000)
        if let at {
            guard let t = ReportCalendar(utc: false).parseMoment(at, now: now) else {
                throw ValidationError(
                    "--at: expected a time like \"2026-12-01 08:30\", 2026-12-01, today, yesterday or -2h; got \(at)"
                )
            }
            guard t <= now + 60 else { throw ValidationError("--at: \(at) is in the future") }
            when = t * 1_000_000
        }
        if let location {
            guard !location.isEmpty, location.count <= 64,
                location.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
            else {
                throw ValidationError(
                    "--location: expected a label of letters, digits, '-', '_' or '.' (e.g. left-calf)")
            }
        }
        let socket = try journalSocketPath(namespace: namespace, socket: journalSocket)
        let entry: JournalEntry
        do {
            entry = try JournalEntry.note(
                kind: kind, text: text, atRealtimeUsec: UInt64(max(0, when)), location: location)
        } catch {
            throw ValidationError("note: \(error)")
        }
        let writer: JournalWriter
        do {
            writer = try JournalWriter(.init(socketPath: socket, spoolDirectory: nil, retryInterval: nil))
        } catch {
            writeStandardError("twitchd note: cannot open \(socket): \(error)\n")
            throw ExitCode(SysExit.unavailable.rawValue)
        }
        let outcome = writer.send(entry)
        writer.close()
        // journald reads the sender's name (_COMM, which the report trusts notes by) from /proc
        // after the datagram arrives; a sender that has already exited leaves the note without it
        // on a busy machine. Stay a moment so the note keeps who wrote it.
        if outcome == .sent || outcome == .sentViaMemfd { usleep(500_000) }
        guard outcome == .sent || outcome == .sentViaMemfd else {
            writeStandardError("twitchd note: journald at \(socket) did not take the note (is it running?)\n")
            throw ExitCode(SysExit.unavailable.rawValue)
        }
        let cal = ReportCalendar(utc: false)
        print(
            "noted \(kind == "text" ? "\"\(text)\"" : kind) at \(cal.minuteString(when / 1_000_000))\(location.map { " (\($0))" } ?? "")"
        )
    }
}

/// The journald socket for `--namespace NAME` or `--journal-socket PATH` (not both), else
/// `fallback`.
func journalSocketPath(
    namespace: String?, socket: String?, default fallback: String? = "/run/systemd/journal/socket"
)
    throws -> String
{
    if namespace != nil && socket != nil {
        throw ValidationError("give either --namespace or --journal-socket, not both")
    }
    if let namespace {
        guard !namespace.isEmpty, namespace.count <= 64,
            namespace.allSatisfy({
                $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".")
            })
        else {
            throw ValidationError("--namespace: expected letters, digits, '-', '_' or '.', got \(namespace)")
        }
        return "/run/systemd/journal.\(namespace)/socket"
    }
    if let socket { return socket }
    return fallback ?? "/run/systemd/journal/socket"
}
