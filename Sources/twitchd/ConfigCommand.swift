import ArgumentParser
import Daemon
import Sensors
import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `twitchd config`: configuration tools.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a configuration file.",
        subcommands: [Check.self])

    /// `twitchd config check FILE`.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a configuration file; every error is listed with its file, line and key.",
            discussion: """
                Runs exactly the checks `twitchd run` (and its reload on SIGHUP) runs: each chip's \
                rates, ranges and addresses, one GPIO line per sensor, one `auto` sensor per bus, \
                what the simulator accepts. Chips: \(ChipRegistry.nameList).
                """)

        @Argument(help: "The configuration file.")
        var file: String = DaemonConfiguration.defaultPath

        func run() throws {
            do {
                let c = try SensorConfigurations.load(path: file)
                var out = "\(file): OK, \(c.sensors.count) sensor\(c.sensors.count == 1 ? "" : "s")\n"
                for s in c.sensors {
                    let interrupt = s.interrupt.map { "interrupt \($0)" } ?? "polled"
                    let rate =
                        ChipRegistry.number(s.rate) + " Hz"
                        + (s.chip == .auto && !s.isSimulated ? " (the found chip's nearest)" : "")
                    out +=
                        "  \(s.location): \(s.bus) address \(s.address), chip \(s.chip), \(rate), ±\(s.rangeG) g, \(interrupt)\n"
                }
                out +=
                    "  journal: \(c.journal ? c.journalSocket : "off"); events: \(c.eventSocket ?? "off")\n"
                writeStandardOutput(out)
                try StandardOutput.check("twitchd config check")
            } catch let error as ConfigErrors {
                let text = error.issues.map { "\($0)\n" }.joined()
                writeStandardError(text)
                let n = error.issues.count
                writeStandardError("\(n) error\(n == 1 ? "" : "s") in \(file)\n")
                throw ExitCode(SysExit.config.rawValue)
            }
        }
    }
}
