import ArgumentParser
import Sensors
import Traces
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `twitchd simulate`: writes a labelled synthetic trace.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write a synthetic, labelled accelerometer trace (no hardware needed).",
        discussion: """
            Generates a limb-accelerometer recording from the physics of muscle twitches and what \
            gets in their way: twitches (damped 8-35 Hz oscillations, some doublets) during rest; \
            gravity on a tilted axis rocked by breathing; physiological tremor; heartbeat pulses; \
            posture shifts, voluntary movement, walking with heel strikes, knocks, and optionally \
            vehicle vibration; the chip's noise, quantisation, offset and a clock a little off \
            nominal. The same options and --seed always give the same file.

            Output: generic CSV (`# key=value` metadata, then time_s,ax_g,ay_g,az_g), gzip when \
            the name ends in .gz; and a labels file (JSON: twitches with onset_s, peak_mg, \
            detectable; segments [kind, start_s, end_s]; floor_mg) that \
            shared/tools/score.py can score `twitchd replay --format jsonl` against.

            Examples:
              twitchd simulate -o calf.csv.gz                       10 min, LIS3DH, 400 Hz
              twitchd replay calf.csv.gz                            find the twitches in it
              twitchd simulate --duration 1h --rate 1000 --sensor adxl355 -o long.csv.gz
              twitchd simulate --movement 0 --twitch-rate 20 --amplitude 5-30 -o rest.csv
              twitchd simulate --sensor-noise 150 --vehicle --seed 7 -o car.csv.gz
              twitchd simulate --duration 30s | head                 CSV on standard output

            Sensor presets (noise density, LSB), from the chip registry: \(ChipRegistry.noiseSummary).

            Exit status: 0 done, 64 bad option, 73 cannot create the output, 74 write error.
            """)

    @Option(name: .shortAndLong, help: "Output trace (.csv or .csv.gz); '-' or none: standard output.")
    var output: String?

    @Option(help: "Labels file (default: next to -o as NAME.truth.json; none on standard output).")
    var labels: String?

    @Option(help: "Seed for the pseudo-random generator.")
    var seed: UInt64 = 1

    @Option(help: "Length: seconds, or with a unit: 90s, 10m, 1h.")
    var duration: String = "10m"

    @Option(help: "Nominal sample rate in Hz.")
    var rate: Double = 400

    @Option(help: "Chip preset: \(ChipRegistry.nameList).")
    var sensor: String = "lis3dh"

    @Option(help: "Noise density in ug/sqrt(Hz), overriding the preset's.")
    var sensorNoise: Double?

    @Option(help: "Mean twitches per minute of rest (bursty).")
    var twitchRate: Double = 6

    @Option(help: "Twitch peak range in mg, MIN-MAX (log-uniform).")
    var amplitude: String = "2-60"

    @Option(help: "Twitch frequency range in Hz, MIN-MAX (log-uniform).")
    var frequency: String = "8-35"

    @Option(help: "Fraction of twitches that are doublets, 0...1.")
    var doublets: Double = 0.1

    @Option(help: "Activity episodes per hour (movement, posture, walking, knocks); 0 for rest only.")
    var movement: Double = 24

    @Option(help: "Fraction of rest periods with physiological tremor, 0...1.")
    var tremor: Double = 0.25

    @Flag(inversion: .prefixedNo, help: "Include walking episodes.")
    var walking = true

    @Flag(inversion: .prefixedNo, help: "Include knocks on the sensor.")
    var knocks = true

    @Flag(inversion: .prefixedNo, help: "Include heartbeat pulses.")
    var heartbeat = true

    @Flag(help: "Include vehicle vibration episodes.")
    var vehicle = false

    @Flag(help: "Include periods with the sensor off the limb, lying on a table (labelled not-worn).")
    var offBody = false

    @Option(help: "Sensor clock error in percent (default: drawn from the seed within +-2.5).")
    var clockError: Double?

    @Option(help: "Sensor location label.")
    var location: String = "left-calf"

    @Option(help: "RFC 3339 time of the first sample, written as start_time metadata.")
    var startTime: String?

    func validate() throws {
        guard Simulate.parseDuration(duration) != nil else {
            throw ValidationError(
                "--duration '\(duration)' is not a length such as 600, 90s, 10m or 1h (at most 366 days)")
        }
        guard OptionValues.rate(rate, in: 10...10_000) else {
            throw ValidationError("--rate must be 10...10000 Hz")
        }
        guard Simulate.parseRange(amplitude) != nil else {
            throw ValidationError("--amplitude '\(amplitude)' is not a range such as 2-60 (mg)")
        }
        guard let f = Simulate.parseRange(frequency), f.upperBound < rate / 2 else {
            throw ValidationError(
                "--frequency '\(frequency)' is not a range such as 8-35 (Hz) below half the rate")
        }
        guard ChipRegistry.named(sensor) != nil else {
            throw ValidationError("--sensor '\(sensor)' is not one of \(ChipRegistry.nameList)")
        }
        guard (0...1).contains(doublets), (0...1).contains(tremor) else {
            throw ValidationError("--doublets and --tremor are fractions in 0...1")
        }
        guard twitchRate >= 0, movement >= 0, twitchRate.isFinite, movement.isFinite else {
            throw ValidationError("--twitch-rate and --movement must be finite numbers, 0 or more")
        }
        if let n = sensorNoise, !(n >= 0 && n.isFinite) {
            throw ValidationError("--sensor-noise must be >= 0")
        }
        if let s = startTime, RFC3339.parse(s) == nil {
            throw ValidationError("--start-time '\(s)' is not RFC 3339, e.g. 2026-11-26T23:00:00Z")
        }
        if let e = clockError, !(abs(e) < 50) { throw ValidationError("--clock-error must be within +-50 %") }
    }

    /// Seconds in `600`, `90s`, `10m`, `1h` (at most a year; see ``OptionValues``).
    static func parseDuration(_ text: String) -> Double? { OptionValues.durationSeconds(text) }

    static func parseRange(_ text: String) -> ClosedRange<Double>? {
        let parts = text.split(separator: "-", maxSplits: 1).map { Double($0) }
        if parts.count == 1, let v = parts[0], v > 0 { return v...v }
        guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo > 0, hi >= lo, hi.isFinite else {
            return nil
        }
        return lo...hi
    }

    func run() async throws {
        var c = SimulationConfiguration()
        c.seed = seed
        c.duration = Simulate.parseDuration(duration)
        c.rate = rate
        c.sensor = ChipRegistry.named(sensor)?.noise ?? .lis3dh
        if let n = sensorNoise { c.sensor.noiseDensity = n * 1e-6 }
        c.twitchesPerMinute = twitchRate
        c.twitchPeakMg = Simulate.parseRange(amplitude) ?? 2...60
        c.twitchFrequencyHz = Simulate.parseRange(frequency) ?? 8...35
        c.doubletFraction = doublets
        c.episodesPerHour = movement
        c.tremorFraction = tremor
        c.walking = walking
        c.knocks = knocks
        c.heartbeat = heartbeat
        c.vehicle = vehicle
        c.offBody = offBody
        c.oscillatorError = clockError.map { $0 / 100 }
        c.location = location
        c.startTime = startTime.flatMap(RFC3339.parse)

        var sim: TraceSimulator
        do { sim = try TraceSimulator(configuration: c) } catch {
            throw ValidationError(error.description)
        }
        let toStdout = output == nil || output == "-"
        let labelsPath = labels ?? (toStdout ? nil : Simulate.defaultLabelsPath(for: output ?? ""))
        do throws(TraceError) {
            var writer: TraceWriter
            if toStdout {
                writer = try TraceWriter(
                    fileDescriptor: 1, name: "<stdout>", metadata: sim.metadata, compress: false)
            } else {
                writer = try TraceWriter(path: output ?? "", metadata: sim.metadata)
            }
            while let s = sim.next() { try writer.write(s) }
            try writer.close()
            if let labelsPath {
                let name =
                    toStdout ? "stdout" : (output ?? "").split(separator: "/").last.map(String.init) ?? ""
                let extra: [(String, String)] = [
                    ("generator", jsonString("twitchd simulate")), ("seed", String(seed)),
                    ("sensor", jsonString(c.sensor.name)), ("rate_hz", fixed(c.rate, 3)),
                    ("true_rate_hz", fixed(sim.trueRate, 4)), ("location", jsonString(c.location)),
                ]
                let json = sim.labels.json(trace: name, extra: extra)
                try Simulate.writeFile(labelsPath, json)
            }
            if !toStdout {
                let l = sim.labels
                let detectable = l.twitches.filter(\.detectable).count
                writeStandardError(
                    "wrote \(output ?? ""): \(fixed(c.duration ?? 0, 1)) s at \(fixed(sim.trueRate, 2)) Hz "
                        + "(\(c.sensor.name), nominal \(fixed(c.rate, 0)) Hz), \(l.twitches.count) twitches "
                        + "(\(detectable) above the \(fixed(l.floorMg, 1)) mg floor)"
                        + (labelsPath.map { "; labels in \($0)" } ?? "") + "\n")
            }
        } catch {
            writeStandardError("twitchd simulate: \(error.description)\n")
            throw ExitCode(error.exitCode.rawValue)
        }
    }

    /// Writes `text` to `path`: `.cantCreate` when it cannot be created, `.io` (exit 74) when a
    /// write or the close fails (a full disk), so a truncated labels file never passes as done.
    static func writeFile(_ path: String, _ text: String) throws(TraceError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TraceError(.cantCreate, path: path, "cannot create labels file: \(errnoText(errno))")
        }
        var text = text
        let failed: Int32 = text.withUTF8 { bytes -> Int32 in
            var offset = 0
            while offset < bytes.count {
                guard let base = bytes.baseAddress else { return 0 }
                let n = write(fd, base + offset, bytes.count - offset)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return n < 0 ? errno : EIO }
                offset += n
            }
            return 0
        }
        let closed = close(fd) == 0 ? 0 : errno
        if failed != 0 || closed != 0 {
            throw TraceError(
                .io, path: path, "writing labels failed: \(errnoText(failed != 0 ? failed : closed))")
        }
    }

    /// `dir/name.csv.gz` -> `dir/name.truth.json`.
    static func defaultLabelsPath(for output: String) -> String {
        var base = output
        for ext in [".gz", ".csv", ".txt"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
        return base + ".truth.json"
    }
}
