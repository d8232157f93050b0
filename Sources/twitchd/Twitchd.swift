import ArgumentParser

/// The `twitchd` command line. Each subcommand lives in its own file.
@main
struct Twitchd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twitchd",
        abstract: "Count muscle twitches (fasciculations) from an accelerometer strapped to a limb.",
        discussion: """
            twitchd reads an I2C accelerometer on a Raspberry Pi (or a simulated one), detects \
            micro-twitches in real time and writes each one to the systemd journal. It counts and \
            describes twitches; it is not a medical device and does not diagnose anything.

            Start here:
              twitchd demo --duration 20s        see live twitches from a simulated limb
              twitchd replay trace.csv.gz        find the twitches in a recording
              twitchd probe --bus /dev/i2c-1     find a sensor on the Pi's I2C bus
            """,
        version: twitchdVersion,
        subcommands: [
            Run.self, Demo.self, Tail.self, Replay.self, Simulate.self, Probe.self, Record.self,
            ConfigCommand.self, Note.self, ReportCommand.self, FillJournal.self,
        ]
    )
}
