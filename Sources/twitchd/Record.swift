import Accelerometers
import ArgumentParser
import SensorBus
import SensorSim
import Sensors
import Synchronization
import Traces
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGINT/SIGTERM; the record loop checks it between reads.
private let recordStop = Atomic<Bool>(false)

/// `twitchd record`: raw samples from a sensor to a trace file.
struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record raw samples from a sensor (real or simulated) to a trace file.",
        discussion: """
            Writes the generic CSV trace that `twitchd replay` reads (gzip when the name ends in \
            .gz): metadata lines (sensor, rate_hz, range_g, location, start_time, bus, address), \
            then time_s,ax_g,ay_g,az_g with time in seconds after the first sample, taken from the \
            sensor's reconstructed sample times (the chip's true rate, gaps where samples were lost). \
            Ctrl-C (SIGINT) or SIGTERM stops early and still leaves a valid file. Lost samples \
            (FIFO overruns, sensor outages) are reported at the end.

            Examples:
              twitchd record --duration 60s -o calf.csv.gz
              twitchd record --bus /dev/i2c-1 --chip adxl355 --rate 1000 --interrupt GPIO17 -o a.csv
              twitchd record --bus sim:lis3dh --duration 10s -o sim.csv.gz

            Exit status: 0 done; 64 bad option; 69 no sensor or bus; 73 cannot create the output; \
            74 write error; 77 permission denied.
            """)

    @Option(help: "Recording length, e.g. 60s, 5m, 1h.")
    var duration: String = "60s"

    @Option(name: .shortAndLong, help: "Output trace (.csv or .csv.gz).")
    var output: String

    @Option(help: "The I2C bus device (/dev/i2c-N) or a simulated chip (\(ChipRegistry.simulatedBusList)).")
    var bus: String = "/dev/i2c-1"

    @Option(
        help: "The sensor's address (hex); default: the first supported chip found.", transform: parseAddress)
    var address: UInt8?

    @Option(help: "\(ChipRegistry.nameList); default: identified by ID register.")
    var chip: String?

    @Option(help: "Output data rate in Hz (nearest supported; default 400-500 Hz by chip).")
    var rate: Double?

    @Option(help: "Full-scale range in g (default: the finest, ±2 g).")
    var range: Double?

    @Option(help: "Data-ready GPIO line by name, e.g. GPIO17 or gpiochip0:17; default: poll.")
    var interrupt: String?

    @Flag(help: "Read one sample per data-ready instead of streaming the FIFO.")
    var noFifo = false

    @Flag(
        help: ArgumentHelp(
            "With --no-fifo and --interrupt: read only on edges, never on a wait timeout.",
            discussion:
                "For a passive register file such as the kernel's i2c-stub, whose DATA_READY never clears."))
    var edgesOnly = false

    @Option(help: "Where the sensor sits, e.g. left-calf.")
    var location: String = "unknown"

    @Flag(help: "With a sim: bus, run on a virtual clock as fast as possible.")
    var fast = false

    func validate() throws {
        guard Simulate.parseDuration(duration) != nil else {
            throw ValidationError("--duration '\(duration)' is not a duration like 60s, 5m or 1h")
        }
        if let chip, ChipRegistry.named(chip) == nil {
            throw ValidationError("--chip '\(chip)': use \(ChipRegistry.nameList)")
        }
        if let rate, !(rate.isFinite && rate > 0) {
            throw ValidationError("--rate must be a positive number of Hz")
        }
        if let range, !(range.isFinite && range > 0) {
            throw ValidationError("--range must be a positive number of g")
        }
    }

    func run() async throws {
        let seconds = Simulate.parseDuration(duration) ?? 60
        let kind = chip.flatMap(ChipRegistry.named)?.kind
        let isSim = bus.lowercased().hasPrefix("sim:")
        var simSource: (any SampleSource)? = nil
        if isSim {
            // A limb with twitches, tremor, heartbeat and movement, at the chip's default rate.
            var config = SimulationConfiguration()
            config.duration = nil
            let simChip = ChipRegistry.named(String(bus.dropFirst(4).split(separator: "@").first ?? ""))
            config.rate = rate ?? simChip?.kind.defaultRate ?? 400
            if let noise = simChip?.noise { config.sensor = noise }
            config.oscillatorError = 0
            config.location = location
            if let sim = try? TraceSimulator(configuration: config) {
                simSource = SimulatorSampleSource(simulator: sim)
            }
        }
        let opened: OpenedSensor
        do {
            opened = try OpenedSensor.open(
                SensorRequest(
                    bus: bus, address: address, chip: kind,
                    settings: AccelerometerSettings(
                        rateHz: rate, rangeG: range, useFIFO: !noFifo, readOnlyOnEdges: edgesOnly),
                    interrupt: interrupt, clock: fast ? .virtual : .real, feed: simSource))
        } catch {
            printError("twitchd record: \(error.description)")
            throw ExitCode(error.exit.rawValue)
        }
        let sensor = opened.sensor
        let device = sensor.bus

        recordStop.store(false, ordering: .relaxed)
        signal(SIGINT) { _ in recordStop.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in recordStop.store(true, ordering: .relaxed) }
        defer {
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }

        var writer: TraceWriter? = nil
        var buffer = [TimedSample](repeating: .zero, count: 512)
        let startNs = opened.time.monotonicNanoseconds()
        let endNs = startNs &+ UInt64(seconds * 1e9)
        var firstNs: UInt64? = nil
        var lastFlushNs = startNs
        var written = 0
        var lost = 0
        var overruns = 0
        var outages = 0
        var everConnected = false
        while !recordStop.load(ordering: .relaxed) {
            let now = opened.time.monotonicNanoseconds()
            if now >= endNs { break }
            let r = buffer.withUnsafeMutableBufferPointer { sensor.read(into: $0) }
            lost += r.lost
            if let e = r.event {
                switch e {
                case .connected(let c):
                    everConnected = true
                    printError("twitchd record: \(device.name): \(c)")
                case .lost(let why):
                    if everConnected { outages += 1 }
                    printError("twitchd record: sensor lost: \(why)")
                case .back:
                    printError("twitchd record: \(e)")
                case .overrun:
                    overruns += 1
                    printError("twitchd record: \(e)")
                }
            }
            if r.count == 0 { continue }
            if writer == nil {
                let first = buffer[0]
                firstNs = first.monotonicNs
                let c = sensor.configuration
                let meta = TraceMetadata([
                    "sensor": c?.chip.rawValue ?? "unknown",
                    "rate_hz": c.map { fmtNumber($0.rateHz) } ?? "0",
                    "range_g": c.map { fmtNumber($0.rangeG) } ?? "0",
                    "location": location,
                    "start_time": RFC3339.format(Double(first.realtimeNs) * 1e-9),
                    "bus": opened.bus.adapter.name,
                    "address": hexAddress(opened.address),
                    "mode": c.map { $0.useFIFO ? "fifo watermark \($0.watermark)" : "bypass" } ?? "",
                    "recorded_by": "twitchd \(twitchdVersion)",
                ])
                do { writer = try TraceWriter(path: output, metadata: meta) } catch {
                    printError("twitchd record: \(error)")
                    throw ExitCode(error.exitCode.rawValue)
                }
            }
            guard let t0 = firstNs else { continue }
            do {
                for i in 0..<r.count {
                    let s = buffer[i]
                    let t = Double(Int64(bitPattern: s.monotonicNs &- t0)) * 1e-9
                    try writer?.write(Sample(time: t, acceleration: s.acceleration))
                }
                written += r.count
                let n = opened.time.monotonicNanoseconds()
                if n &- lastFlushNs >= 1_000_000_000 {
                    try writer?.flush()
                    lastFlushNs = n
                }
            } catch {
                printError("twitchd record: \(error)")
                throw ExitCode(SysExit.ioErr.rawValue)
            }
        }
        sensor.standby()
        do { try writer?.close() } catch {
            printError("twitchd record: \(error)")
            throw ExitCode(SysExit.ioErr.rawValue)
        }
        guard writer != nil else {
            printError(
                "twitchd record: no samples recorded (\(sensor.lastError.map { "\($0)" } ?? "sensor never answered"))"
            )
            throw ExitCode(SysExit.unavailable.rawValue)
        }
        let elapsed = Double(opened.time.monotonicNanoseconds() &- startNs) * 1e-9
        let stopped = recordStop.load(ordering: .relaxed) ? " (stopped by signal)" : ""
        printError(
            "twitchd record: \(written) samples in \(fmt(elapsed, 1)) s to \(output)\(stopped); measured rate "
                + "\(fmt(sensor.measuredRate, 2)) Hz; lost \(lost) samples (\(overruns) overruns, \(outages) outages)"
        )
    }
}

private func fmtNumber(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}
