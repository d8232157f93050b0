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

/// `twitchd run`: the service.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: read the sensors, detect twitches, write them to the journal.",
        discussion: """
            Reads \(DaemonConfiguration.defaultPath) (or --config). SIGTERM or SIGINT stop it cleanly; \
            SIGHUP reloads the configuration (sensors whose settings did not change keep running). \
            Events are served as JSON lines on the event socket: watch them with `twitchd tail`.
            """)

    @Option(name: .long, help: "Configuration file.")
    var config: String = DaemonConfiguration.defaultPath

    @Option(
        name: .long, help: "journald's native socket (e.g. /run/systemd/journal.NAME/socket for a namespace)."
    )
    var journalSocket: String?

    @Option(name: .long, help: "Serve live events on this socket instead of the configured one.")
    var eventSocket: String?

    @Option(name: .long, help: "State directory (journal spool, sequence number).")
    var stateDirectory: String?

    @Flag(name: .long, help: "Also print each event on standard output.")
    var print = false

    @Option(name: .long, help: "Log level: debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() throws {
        let overrides = Overrides(
            journalSocket: journalSocket, eventSocket: eventSocket, stateDirectory: stateDirectory)
        let path = config
        let load = { () throws(ConfigErrors) -> DaemonConfiguration in
            overrides.apply(to: try SensorConfigurations.load(path: path))
        }
        let configuration: DaemonConfiguration
        do {
            configuration = try load()
        } catch {
            for issue in error.issues { writeStandardError("twitchd: \(issue)\n") }
            let systemd = SystemdNotifier.fromEnvironment()
            systemd.status("configuration error: \(error.issues.first?.description ?? "")")
            throw ExitCode(SysExit.config.rawValue)
        }
        let logger = bootstrapLogging(
            level: logLevel, journal: configuration.journal ? configuration.journalSocket : nil,
            spoolDirectory: configuration.stateDirectory)
        var options = DaemonOptions(sourceFactory: SourceFactories.drivers, logger: logger)
        options.journalFactory = JournalSink.make
        options.version = twitchdVersion
        let systemd = SystemdNotifier.fromEnvironment()
        if systemd.isEnabled { options.notifier = JournalNotifier(systemd) }
        let stop = ServiceLoop.StopRequest()
        if print {
            let printer = EventPrinter.forStandardOutput()
            options.extraSinks.append(
                ClosureSink(name: "stdout") { event in
                    if !StandardOutput.line(printer.line(event)) { stop.request() }
                })
        }
        let daemon = Daemon(configuration: configuration, options: options)
        do {
            try daemon.start()
        } catch {
            logger.error("\(error.description)")
            throw ExitCode(error.exit.rawValue)
        }
        let status = ServiceLoop.run(daemon: daemon, stop: stop, reload: load, logger: logger)
        try StandardOutput.check("twitchd run")
        if status != .ok { throw ExitCode(status.rawValue) }
    }
}

/// Command-line settings that win over the file (kept across SIGHUP reloads).
struct Overrides {
    var journalSocket: String?
    var eventSocket: String?
    var stateDirectory: String?

    func apply(to configuration: DaemonConfiguration) -> DaemonConfiguration {
        var c = configuration
        if let journalSocket {
            c.journalSocket = journalSocket
            c.journal = true
        }
        if let eventSocket {
            c.eventSocket = eventSocket.isEmpty || eventSocket == "none" ? nil : eventSocket
        }
        if let stateDirectory { c.stateDirectory = stateDirectory }
        // Without root or systemd, fall back to user-writable places.
        if let socket = c.eventSocket { c.eventSocket = Paths.usableSocketPath(socket) }
        c.stateDirectory = Paths.usableStateDirectory(c.stateDirectory)
        return c
    }
}

/// Sets up swift-log once. With a journal socket, the daemon's own messages go to the journal
/// (structured, with priorities) and, unless standard error already is the journal, to standard
/// error as well; without one, to standard error only. With a `spoolDirectory`, messages written
/// while journald is away wait in `log.spool` there (delivered when journald returns, by this run
/// or the next) instead of in memory, where they were lost if the daemon exited first.
func bootstrapLogging(level: String, journal socket: String? = nil, spoolDirectory: String? = nil) -> Logger {
    let parsed = Logger.Level(rawValue: level.lowercased()) ?? .info
    let writer = socket.flatMap { path -> JournalWriter? in
        if let dir = spoolDirectory {
            _ = mkdir(dir, 0o700)
            var c = JournalWriter.Configuration(socketPath: path, spoolDirectory: dir)
            c.spoolFileName = "log.spool"
            if let w = try? JournalWriter(c) { return w }
        }
        return try? JournalWriter(.init(socketPath: path, spoolDirectory: nil))
    }
    // Under systemd stderr already is the journal (JOURNAL_STREAM): don't log twice there.
    let alsoStderr = getenv("JOURNAL_STREAM") == nil
    LoggingSystem.bootstrap { label in
        var stderrHandler = StreamLogHandler.standardError(label: label)
        stderrHandler.logLevel = parsed
        guard let writer else { return stderrHandler }
        let journalHandler = JournalLogHandler(label: label, writer: writer, level: parsed)
        if !alsoStderr { return journalHandler }
        return MultiplexLogHandler([journalHandler, stderrHandler])
    }
    var logger = Logger(label: "twitchd")
    logger.logLevel = parsed
    return logger
}

/// Parses `20s`, `2m`, `1h`, `500ms` or a plain number of seconds.
/// At most a year (``OptionValues/maxDurationSeconds``): longer would overflow.
func parseDuration(_ text: String) -> Duration? {
    guard let seconds = OptionValues.durationSeconds(text),
        let ms = Int64(exactly: (seconds * 1000).rounded())
    else { return nil }
    return .milliseconds(ms)
}
