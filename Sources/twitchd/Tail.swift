import ArgumentParser
import Daemon
import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `twitchd tail`: watch twitches arrive.
struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print each twitch as the running daemon detects it.",
        discussion: """
            Connects to the daemon's event socket and keeps reconnecting across daemon restarts. \
            Ctrl-C or a closed output pipe end it cleanly; an output that cannot be written \
            (a full disk) ends it with status 74. The socket belongs to group twitchd: \
            without membership tail stops with "permission denied" (exit 77) rather than trying \
            a less protected socket elsewhere.

            Examples:
              twitchd tail                          # follow the service
              twitchd tail --json | jq .peak_mg     # the raw JSON lines
              sudo usermod -aG twitchd $USER        # once, then log in again
            """)

    @Flag(name: .long, help: "Print the raw JSON lines.")
    var json = false

    @Option(
        name: .long, help: "The event socket (default: /run/twitchd/events.sock, then per-user fallbacks).")
    var socket: String?

    func run() throws {
        // Ctrl-C and SIGTERM end tail with status 0; a closed pipe is noticed on write.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT) { _ in _exit(0) }
        signal(SIGTERM) { _ in _exit(0) }
        let client = TailClient(candidates: socket.map { [$0] } ?? Paths.eventSocketCandidates())
        client.note = { writeStandardError("twitchd tail: \($0)\n") }
        let printer = EventPrinter.forStandardOutput()
        let outcome = client.run { line in
            if json { return StandardOutput.line(line) }
            guard let text = printer.line(jsonLine: line) else { return true }
            return StandardOutput.line(text)
        }
        if case .permissionDenied(let path) = outcome {
            writeStandardError(
                "twitchd tail: permission denied: \(path): add yourself to group twitchd "
                    + "(sudo usermod -aG twitchd $USER, then log in again)\n")
            throw ExitCode(SysExit.noPerm.rawValue)
        }
        // The client returns once output failed: a closed pipe ends quietly, anything else is 74.
        try StandardOutput.check("twitchd tail")
    }
}
