import Accelerometers
import ArgumentParser
import Daemon
import Journal
import JournalOutput
import Logging
import Sensors
import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `twitchd demo`: the daemon pipeline on a simulated limb, printing twitches live.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "See live twitches from a simulated limb (no hardware, no root).",
        discussion: """
            Runs the real daemon pipeline (acquisition thread, ring, detector, outputs) on a \
            simulated accelerometer strapped to a resting calf that twitches often (about 20 a minute) and moves \
            occasionally, in real time. Events are printed as they are detected and served on the event \
            socket (try `twitchd tail` in another terminal).

            The demo never writes to the system journal or to the service's state directory \
            (/var/lib/twitchd) unless asked: with --namespace NAME (or --journal-socket PATH) its \
            entries go to that journal, marked TWITCH_SIMULATED=1, and `twitchd report \
            --namespace NAME --simulated` reports them. Its spool and sequence numbers live in a \
            private directory of its own, removed when it ends.

            Examples:
              twitchd demo --duration 20s
              twitchd demo --duration 60s --namespace twitchd-demo
              twitchd report --namespace twitchd-demo --simulated --since today
            """)

    @Option(name: .long, help: "Stop after this long, e.g. 20s, 2m (default: until Ctrl-C).")
    var duration: String?

    @Option(name: .long, help: "Write entries to journald's socket PATH (default: no journal).")
    var journalSocket: String?

    @Option(name: .long, help: "Write entries to journal namespace NAME (/run/systemd/journal.NAME/socket).")
    var namespace: String?

    @Option(name: .long, help: .hidden)
    var exposurePeriod: String?

    @Option(name: .long, help: "Simulator seed: the same seed gives the same limb.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Simulated chip: \(ChipRegistry.nameList).")
    var chip: String = "adxl355"

    @Option(
        name: .long,
        help:
            "Sample rate in Hz (one the chip can run at; default: 1000 on the ADXL355, else the chip's default)."
    )
    var rate: Double?

    @Option(name: .long, help: "Serve events on this socket (default: a per-user runtime directory).")
    var eventSocket: String?

    @Flag(name: .long, help: "Print JSON lines instead of the table.")
    var json = false

    func run() throws {
        let logger = bootstrapLogging(level: "warning")
        var limit: Duration?
        if let duration {
            guard let d = parseDuration(duration) else {
                throw ValidationError("--duration: expected e.g. 20s, 2m or 500ms, got \(duration)")
            }
            limit = d
        }
        guard let row = ChipRegistry.named(chip) else {
            throw ValidationError("--chip: unknown chip \(chip); expected \(ChipRegistry.nameList)")
        }
        var sensor = SensorConfiguration(bus: "sim:\(row.name)", location: "left-calf")
        sensor.chip = ChipName(row.name)
        let rate = self.rate ?? (row.kind.supportedRates.contains(1000) ? 1000 : row.kind.defaultRate)
        sensor.rate = rate
        sensor.seed = seed
        // A lively limb, so a newcomer sees twitches within seconds: 20 a minute at rest (a busy
        // BFS calf) and a movement every couple of minutes.
        sensor.twitchesPerMinute = 20
        sensor.episodesPerHour = 30
        var configuration = DaemonConfiguration()
        configuration.file = "<demo>"
        configuration.sensors = [sensor]
        // The checks `run` makes: a rate the chip can do, one the simulator accepts.
        var entries = [SensorEntry(path: "demo", sensor: sensor, given: ["rate"])]
        if let problem = ChipRules().apply(to: &entries).first {
            throw ValidationError("--\(problem.key ?? "chip"): \(problem.message)")
        }
        // No journal unless asked: a demo's twitches are not the wearer's.
        if namespace != nil || journalSocket != nil {
            let socket = try journalSocketPath(namespace: namespace, socket: journalSocket)
            guard JournalWriter.socketExists(at: socket) else {
                throw ValidationError(
                    "no journald listens on \(socket)"
                        + (namespace.map {
                            "; start it with `sudo systemctl start systemd-journald@\($0).socket` (or `sudo scripts/demo-journal \($0)`)"
                        } ?? ""))
            }
            configuration.journal = true
            configuration.journalSocket = socket
        } else {
            configuration.journal = false
        }
        let socketPath =
            eventSocket
            ?? (Paths.firstWritableDirectory(Paths.runtimeDirectoryCandidates()).map { $0 + "/events.sock" }
                ?? "/tmp/twitchd-\(getuid())-events.sock")
        configuration.eventSocket = socketPath
        if let (fd, _) = TailClient(candidates: [socketPath]).connectOnce() {
            // A daemon is serving there already: the demo takes a socket of its own.
            close(fd)
            configuration.eventSocket =
                Paths.directory(of: socketPath) + "/demo-\(getpid()).sock"
        }
        // A private state directory (spool, sequence numbers), never the service's.
        var template = Array("/tmp/twitchd-demo-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            writeStandardError("twitchd demo: cannot create a private state directory in /tmp\n")
            throw ExitCode(SysExit.cantCreate.rawValue)
        }
        let stateDirectory = String(cString: made)
        configuration.stateDirectory = stateDirectory
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }

        var options = DaemonOptions(sourceFactory: SourceFactories.drivers, logger: logger)
        if let exposurePeriod {
            guard let p = parseDuration(exposurePeriod) else {
                throw ValidationError("--exposure-period: expected e.g. 10m or 5s, got \(exposurePeriod)")
            }
            options.exposurePeriod = p
        }
        options.journalFactory = JournalSink.make
        options.version = twitchdVersion
        let stop = ServiceLoop.StopRequest()
        let printer = EventPrinter.forStandardOutput()
        let asJSON = json
        options.extraSinks.append(
            ClosureSink(name: "stdout") { event in
                if case .exposure = event.kind { return }
                if !StandardOutput.line(asJSON ? event.jsonLine : printer.line(event)) { stop.request() }
            })
        let daemon = Daemon(configuration: configuration, options: options)
        let journalNote =
            configuration.journal
            ? "journal: \(configuration.journalSocket) (entries marked TWITCH_SIMULATED=1)"
            : "no journal (--namespace NAME to keep the entries)"
        writeStandardError(
            """
            twitchd demo: simulated \(row.name) at \(fixed(rate, 0)) Hz on a resting left calf (seed \(seed)).
              events also on \(configuration.eventSocket ?? socketPath) (`twitchd tail --socket \(configuration.eventSocket ?? socketPath)`); \(journalNote)
              \(limit == nil ? "Ctrl-C to stop" : "stops after \(duration ?? "")").

            """)
        do {
            try daemon.start()
        } catch {
            logger.error("\(error.description)")
            throw ExitCode(error.exit.rawValue)
        }
        let status = ServiceLoop.run(daemon: daemon, duration: limit, stop: stop, reload: nil, logger: logger)
        let s = daemon.summary()
        let count = s.twitchesLastHour
        let lost = s.samplesDroppedInRing + s.samplesLostInChip
        let summary = "twitchd demo: \(count) twitch\(count == 1 ? "" : "es"), \(lost) samples lost.\n"
        writeStandardError(summary)
        try StandardOutput.check("twitchd demo")
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}
