import Daemon
import Foundation
import Journal
import JournalOutput
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Sources for `sim:` sensors as in the other pipeline tests, and for `/dev/i2c-N` buses that
/// exist only once the test says so (a bus that appears later, a bus that never will), or that
/// refuse some settings.
final class Buses: Sendable {
    private let present = Atomic<Bool>(false)
    /// Opening attempts of buses that are not there.
    let refused = Atomic<Int>(0)
    /// Whether a missing bus may still appear (`transient`) or never will.
    let transient: Bool

    init(transient: Bool = true) { self.transient = transient }

    func plugIn() { present.store(true, ordering: .relaxed) }

    var factory: SourceFactory {
        { [self] sensor throws(SourceError) in
            if sensor.isSimulated { return try SourceFactories.simulated(sensor) }
            guard present.load(ordering: .relaxed), sensor.rate <= 3200 else {
                refused.add(1, ordering: .relaxed)
                throw SourceError(
                    "open \(sensor.bus): no such bus (errno 2)", transient: transient && sensor.rate <= 3200)
            }
            // The bus's chip: a simulated limb under another name.
            var sim = sensor
            sim.bus = "sim:adxl355"
            sim.seed = sim.seed ?? 3
            sim.speed = 8
            return try SourceFactories.simulated(sim)
        }
    }
}

func i2cSensor(_ location: String, bus: String = "/dev/i2c-9", rate: Double = 800) -> SensorConfiguration {
    var s = SensorConfiguration(bus: bus, location: location)
    s.address = .fixed(0x1D)
    s.rate = rate
    s.seed = 1
    return s
}

func events(_ c: Collector, at location: String) -> [DaemonEvent] {
    liveEvents(c.all).filter { $0.location == location }
}

@Suite(.serialized) struct LifecycleTests {
    /// `run` with one sensor working and one on a bus that is not there (yet): the working one
    /// streams and makes the daemon READY; the other is reported lost (event, STATUS) and
    /// retried with back-off until its bus appears, then streams too.
    @Test func startsWithTheSensorsThatWorkAndRetriesTheOthers() throws {
        let dir = temporaryDirectory("partial")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try #require(NotifyListener(path: dir + "/notify.sock"))
        let buses = Buses()
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        options.sourceFactory = buses.factory
        options.notifier = JournalNotifier(
            SystemdNotifier(socketPath: listener.path, watchdogUsec: 400_000, watchdogPID: getpid()))
        options.statusPeriod = .milliseconds(300)
        var config = simConfiguration(dir: dir, speed: 4)
        config.sensors.append(i2cSensor("right-calf"))
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        #expect(
            waitUntil(5) {
                events(collector, at: "left-calf").contains {
                    if case .twitch = $0.kind { true } else { false }
                }
            })
        let lost = events(collector, at: "right-calf").first
        #expect(
            lost.map { if case .sensorLost(let d) = $0.kind { d.contains("no such bus") } else { false } }
                == true)
        listener.pump(1.0)
        var texts = listener.messages.map(\.text)
        #expect(texts.contains { $0.hasPrefix("READY=1") })
        #expect(
            texts.contains {
                $0.contains("STATUS=") && $0.contains("right-calf lost (open /dev/i2c-9: no such bus")
            })
        #expect(daemon.summary().lost.map(\.location) == ["right-calf"])
        // A sensor reported lost and being retried does not stop the watchdog while another
        // streams (a silent, unreported one does: NotifyTests).
        #expect(daemon.summary().healthy)
        let dogs = listener.messages.filter { $0.text.hasPrefix("WATCHDOG=1") }.map(\.time)
        #expect(dogs.count >= 3)
        #expect(dogs.last.map { Date().timeIntervalSince($0) < 1 } == true)
        // Retried, with back-off: a handful of attempts in a second and more, not hundreds.
        let attempts = buses.refused.load(ordering: .relaxed)
        #expect(attempts >= 3 && attempts <= 12, "\(attempts) attempts")
        buses.plugIn()
        #expect(waitUntil(15) { events(collector, at: "right-calf").contains { $0.kind == .sensorBack } })
        #expect(
            waitUntil(5) {
                events(collector, at: "right-calf").contains {
                    if case .twitch = $0.kind { true } else { false }
                }
            })
        #expect(daemon.summary().lost.isEmpty)
        daemon.stop()
        listener.pump(0.2)
        texts = listener.messages.map(\.text)
        #expect(texts.filter { $0.hasPrefix("READY=1") }.count == 1)
    }

    /// Start fails (exit 69) only when no sensor opened and no retry can help; a bus that may
    /// still appear keeps the daemon up (not READY) and retrying.
    @Test func startFailsOnlyWhenNoSensorCanEverWork() throws {
        let dir = temporaryDirectory("none")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = simConfiguration(dir: dir)
        config.sensors = [i2cSensor("left-calf")]
        var options = testOptions()
        options.sourceFactory = Buses(transient: false).factory
        let never = Daemon(configuration: config, options: options)
        #expect(throws: DaemonStartError.self) { try never.start() }
        do {
            try never.start()
        } catch {
            #expect(error.exit == .unavailable)
            #expect(error.description.contains("no such bus"))
        }
        let buses = Buses(transient: true)
        let collector = Collector()
        options = testOptions(extra: [collector.sink])
        options.sourceFactory = buses.factory
        let later = Daemon(configuration: config, options: options)
        try later.start()
        #expect(
            waitUntil(3) { collector.all.contains { if case .sensorLost = $0.kind { true } else { false } } })
        buses.plugIn()
        #expect(waitUntil(15) { collector.all.contains { $0.kind == .sensorBack } })
        later.stop()
    }

    /// Reload is a transaction: a new configuration whose sensor cannot start (a missing bus)
    /// leaves the old sensor streaming; STATUS says the reload was refused.
    @Test func reloadWithASensorThatCannotStartKeepsTheOldOne() throws {
        let dir = temporaryDirectory("txn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try #require(NotifyListener(path: dir + "/notify.sock"))
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        options.sourceFactory = Buses().factory
        options.notifier = JournalNotifier(SystemdNotifier(socketPath: listener.path))
        let config = simConfiguration(dir: dir, speed: 4)
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        #expect(waitUntil(5) { events(collector, at: "left-calf").count >= 2 })
        var moved = config
        moved.sensors = [i2cSensor("left-calf")]
        #expect(throws: DaemonStartError.self) { try daemon.reload(moved) }
        #expect(daemon.configuration == config)
        let before = events(collector, at: "left-calf").count
        #expect(waitUntil(5) { events(collector, at: "left-calf").count >= before + 3 })
        #expect(!collector.all.contains { if case .sensorLost = $0.kind { true } else { false } })
        listener.pump(0.3)
        let status = listener.messages.map(\.text).last { $0.contains("STATUS=") } ?? ""
        #expect(status.contains("reload refused"))
        #expect(status.contains("previous configuration kept"))
        // A good reload clears it.
        var sensitive = config
        sensitive.sensitivity = .high
        try daemon.reload(sensitive)
        #expect(daemon.summary().reloadProblem == nil)
        daemon.stop()
    }

    /// Reload of the outputs: when the new configuration's journal output cannot open, the
    /// previous one is opened again (events keep reaching it) and STATUS says so; before, the
    /// daemon ran on with no journal at all.
    @Test func reloadWhoseJournalCannotOpenKeepsThePreviousJournal() throws {
        let dir = temporaryDirectory("outputs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journal = Collector()
        let opened = Mutex<[String]>([])
        var options = testOptions()
        // A journal output that opens for the first socket path only.
        options.journalFactory = { config, _ in
            opened.withLock { $0.append(config.journalSocket) }
            return config.journalSocket == dir + "/good.socket" ? journal.sink : nil
        }
        var config = simConfiguration(dir: dir, speed: 4)
        config.journal = true
        config.journalSocket = dir + "/good.socket"
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        #expect(waitUntil(5) { journal.twitches.count >= 2 })
        var moved = config
        moved.journalSocket = dir + "/unopenable.socket"
        try daemon.reload(moved)
        #expect(
            opened.withLock { $0 } == [
                dir + "/good.socket", dir + "/unopenable.socket", dir + "/good.socket",
            ])
        let before = journal.twitches.count
        #expect(waitUntil(5) { journal.twitches.count >= before + 3 })
        #expect(daemon.summary().reloadProblem?.contains("previous kept") == true)
        daemon.stop()
    }

    /// A changed sensor that must give up its bus before the new settings can open it: when the
    /// new settings fail, the old sensor is put back and streams again.
    @Test func reloadThatFailsOnTheSameBusPutsTheOldSensorBack() throws {
        let dir = temporaryDirectory("rollback")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let buses = Buses()
        buses.plugIn()
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        options.sourceFactory = buses.factory
        var config = simConfiguration(dir: dir)
        config.sensors = [i2cSensor("left-calf")]
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        #expect(waitUntil(5) { events(collector, at: "left-calf").count >= 2 })
        var faster = config
        faster.sensors[0].rate = 5000  // refused by this bus's chip
        #expect(throws: DaemonStartError.self) { try daemon.reload(faster) }
        #expect(daemon.configuration == config)
        let before = events(collector, at: "left-calf").count
        #expect(waitUntil(8) { events(collector, at: "left-calf").count >= before + 3 })
        daemon.stop()
        let seqs = liveEvents(collector.all).map(\.seq)
        #expect(seqs == Array(1...UInt64(seqs.count)))
    }

    /// A sensor whose driver reports it lost and keeps re-probing (an unplugged chip) is
    /// accounted for: while another sensor streams, the watchdog keeps pinging.
    @Test func aSensorLostInItsDriverKeepsTheWatchdogWhileAnotherStreams() throws {
        let dir = temporaryDirectory("reprobe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try #require(NotifyListener(path: dir + "/notify.sock"))
        var options = testOptions()
        options.sourceFactory = { sensor throws(SourceError) in
            sensor.location == "right-calf" ? LostForeverSource() : try SourceFactories.simulated(sensor)
        }
        options.notifier = JournalNotifier(
            SystemdNotifier(socketPath: listener.path, watchdogUsec: 400_000, watchdogPID: getpid()))
        let config = simConfiguration(dir: dir, sensors: [("left-calf", 1), ("right-calf", 2)])
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        #expect(waitUntil(5) { daemon.summary().lost.map(\.location) == ["right-calf"] })
        // Well past the 2 s after which a silent sensor counts as stuck.
        listener.pump(3.5)
        let dogs = listener.messages.filter { $0.text.hasPrefix("WATCHDOG=1") }.map(\.time)
        #expect(dogs.last.map { Date().timeIntervalSince($0) < 1 } == true)
        #expect(daemon.summary().healthy)
        daemon.stop()
    }

    /// The start entry names the version and the detector settings.
    @Test func startEntryRecordsVersionAndSettings() throws {
        let dir = temporaryDirectory("version")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = LogCapture()
        var options = testOptions()
        options.logger = log.logger
        options.version = "9.8.7"
        var config = simConfiguration(dir: dir)
        config.sensitivity = .high
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        daemon.stop()
        let start = log.entries.first { $0.message.contains("started") }
        #expect(start?.message.contains("twitchd 9.8.7 started: sensitivity 0.75") == true)
        #expect(start?.message.contains("left-calf auto 800 Hz") == true)
        #expect(start?.metadata["twitch_version"] == "9.8.7")
        #expect(start?.metadata["twitch_sensitivity"] == "0.75")
    }
}

/// Collects what the daemon logs, with metadata.
final class LogCapture: @unchecked Sendable {
    struct Entry {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }
    private let lock = NSLock()
    private var list: [Entry] = []
    var entries: [Entry] { lock.withLock { list } }
    func add(_ e: Entry) { lock.withLock { list.append(e) } }

    var logger: Logger {
        Logger(label: "capture") { _ in Handler(capture: self) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(
            level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
            file: String, function: String, line: UInt
        ) {
            let m = (metadata ?? [:]).mapValues { "\($0)" }
            capture.add(Entry(level: level, message: message.description, metadata: m))
        }
    }
}

/// Streams a moment, then reports itself lost and stays lost, returning nothing (a driver
/// re-probing a chip that was unplugged).
final class LostForeverSource: SampleSource {
    let name = "lost-forever"
    let sampleRate = 400.0
    var reads = 0
    var index: UInt64 = 0
    func start() throws(SourceError) {}
    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        usleep(10_000)
        reads += 1
        if reads == 5 { return SourceRead(count: 0, health: .lost(reason: "no answer at 0x1D")) }
        if reads > 5 { return SourceRead(count: 0) }
        for i in 0..<4 {
            buffer[i] = AcquiredSample(
                monotonicNs: 1_000_000_000 + (index + UInt64(i)) * 2_500_000, realtimeNs: 0, x: 0, y: 0, z: 1)
        }
        index += 4
        return SourceRead(count: 4)
    }
    func standby() {}
}
