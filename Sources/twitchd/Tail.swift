import ArgumentParser
import Daemon
import Foundation

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
            Ctrl-C or a closed output pipe end it cleanly.
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
        client.note = { FileHandle.standardError.write(Data("twitchd tail: \($0)\n".utf8)) }
        let printer = EventPrinter.forStandardOutput()
        client.run { line in
            if json { return LineWriter.write(line) }
            guard let data = line.data(using: .utf8),
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let text = printer.line(json: object)
            else { return true }
            return LineWriter.write(text)
        }
    }
}
