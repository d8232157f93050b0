import Detector
import Dispatch
public import Logging
import Synchronization
public import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How the daemon is built: where samples come from, which detector, which extra outputs.
public struct DaemonOptions: Sendable {
    /// Builds each sensor's source (chip driver on a real or simulated bus).
    public var sourceFactory: SourceFactory
    /// Builds each sensor's detector.
    public var detectorFactory: DetectorFactory = { try TwitchDetector(configuration: $0) }
    /// Builds the journal output for a configuration (nil when the journal is off or unavailable).
    public var journalFactory: @Sendable (DaemonConfiguration, Logger) -> (any EventSink)? = { _, _ in nil }
    /// Outputs besides the journal and the event socket (e.g. the demo's terminal printer).
    public var extraSinks: [any EventSink] = []
    /// systemd's notification socket.
    public var notifier: any ServiceNotifier = NoNotifier()
    public var logger: Logger
    /// Samples the ring between a sensor and its detector holds (rounded up to a power of two);
    /// 0 = two seconds of samples, at least 4096.
    public var ringCapacity: Int = 0
    /// How often the detector thread drains the rings. Each wake-up costs more CPU than the
    /// detection it does (20-38 us on the benchmark VM, see BENCHMARKS.md), and
    /// the detector holds a twitch 1 s before reporting it anyway, so 40 ms adds ~20 ms on
    /// average to an event's latency and saves three of every four wake-ups.
    public var detectorPeriod: Duration = .milliseconds(40)
    /// Events each output may have queued before further ones are dropped (and counted).
    public var sinkQueueCapacity: Int = 4096
    /// Event socket: bytes a client may have waiting before it is disconnected.
    public var clientBufferLimit: Int = 256 * 1024
    /// How often STATUS is refreshed.
    public var statusPeriod: Duration = .seconds(5)
    /// How often each sensor's exposure (seconds at rest, active, not worn, without samples) is
    /// written, on the samples' time base; a last one is written when a sensor stops.
    public var exposurePeriod: Duration = .seconds(600)
    /// A jump between consecutive samples longer than this is charged as time without samples.
    public var exposureGap: Duration = .milliseconds(250)
    /// Exposure events go to the journal; also to the extra sinks when set (tests), never to the
    /// event socket.
    public var exposureToExtraSinks = false
    /// twitchd's version, recorded in the start entry.
    public var version = "unknown"

    public init(sourceFactory: @escaping SourceFactory, logger: Logger) {
        self.sourceFactory = sourceFactory
        self.logger = logger
    }
}

/// Why the daemon could not start.
public struct DaemonStartError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var exit: SysExit
    public init(_ description: String, exit: SysExit) {
        self.description = description
        self.exit = exit
    }
}

/// A live summary of the daemon.
public struct DaemonSummary: Sendable, Equatable {
    /// Per sensor: location and measured sample rate in Hz.
    public var rates: [(location: String, hz: Double)]
    /// Sensors lost (not answering, or not opened yet) and why; they are being retried.
    public var lost: [(location: String, reason: String)] = []
    public var twitchesLastHour: Int
    public var samplesDroppedInRing: Int
    public var samplesLostInChip: Int
    public var eventsDroppedInOutputs: Int
    public var healthy: Bool
    public var lastSeq: UInt64
    /// Why the last reload was refused (the previous configuration still runs), or nil.
    public var reloadProblem: String? = nil

    public static func == (a: DaemonSummary, b: DaemonSummary) -> Bool {
        a.rates.map(\.location) == b.rates.map(\.location) && a.rates.map(\.hz) == b.rates.map(\.hz)
            && a.lost.map(\.location) == b.lost.map(\.location)
            && a.lost.map(\.reason) == b.lost.map(\.reason)
            && a.twitchesLastHour == b.twitchesLastHour && a.samplesDroppedInRing == b.samplesDroppedInRing
            && a.samplesLostInChip == b.samplesLostInChip
            && a.eventsDroppedInOutputs == b.eventsDroppedInOutputs
            && a.healthy == b.healthy && a.lastSeq == b.lastSeq && a.reloadProblem == b.reloadProblem
    }

    /// The `STATUS=` line.
    public var statusLine: String {
        let r = rates.map { "\($0.location) \(Int($0.hz.rounded())) Hz" }.joined(separator: ", ")
        var s = "\(twitchesLastHour) twitches in the last hour; \(r.isEmpty ? "no sensor" : r)"
        for l in lost {
            // The first sentence: the journal has the whole reason with its hint.
            let reason = firstSentence(l.reason)
            s += "; \(l.location) lost (\(reason)), retrying"
        }
        if samplesDroppedInRing + samplesLostInChip > 0 {
            s += "; \(samplesDroppedInRing + samplesLostInChip) samples lost"
        }
        if eventsDroppedInOutputs > 0 { s += "; \(eventsDroppedInOutputs) events dropped by outputs" }
        if !healthy { s += "; acquisition stalled" }
        if let reloadProblem { s += "; \(reloadProblem)" }
        return s
    }
}

/// Up to the first ". ": an error without its hint, for one-line summaries.
func firstSentence(_ text: String) -> String {
    text.split(separator: ". ", maxSplits: 1).first.map(String.init) ?? text
}

/// What the supervisor and ``Daemon/summary()`` see of one sensor: written by the detector
/// thread only (after each drain), read by anyone.
struct ChannelStatus: Sendable {
    /// Set while the sensor is lost.
    var lostReason: String?
    /// Samples per second, as the acquisition thread measured them.
    var measuredRate: Double = 0
    var chipLost = 0
    var ringDropped = 0
    /// `CLOCK_MONOTONIC` ns when the detector thread last took samples (0: never).
    var lastSamplesNs: UInt64 = 0
    /// `CLOCK_MONOTONIC` ns when the detector thread last heard from the acquisition thread.
    var lastHeardNs: UInt64 = 0
}

/// One sensor as the detector thread sees it. Every `var` is the detector thread's alone; the
/// controlling thread asks for changes through `retire` and `newSensitivity`.
final class Channel: @unchecked Sendable {
    let acquisition: Acquisition
    /// When the channel was made (`CLOCK_MONOTONIC` ns): a grace period before it must stream.
    let createdNs: UInt64
    var detector: any StreamDetector
    var realtimeOffsetNs: Int64 = 0
    /// Samples taken from the ring so far (compared with ``HealthMessage/position``).
    var consumed = 0
    /// The one record of whether the sensor is lost (and why).
    var lostReason: String?
    var measuredRate: Double = 0
    var chipLost = 0
    var ringDropped = 0
    var pendingChipLost = 0
    var pendingRingDropped = 0
    var lastOverrunReportNs: UInt64 = 0
    var lastSamplesNs: UInt64 = 0
    var lastHeardNs: UInt64 = 0
    // Exposure accounting, on the samples' time base (seconds).
    var exposure: ExposureCounter
    var lastSampleTime: Double
    var periodStart: Double
    var periodLostBase = 0
    /// Whether a sample has arrived yet (the account starts at the first sample).
    var sampled = false
    /// The rate and sensitivity the current detector was built for.
    var detectorRate: Double
    var sensitivity: Sensitivity
    // Requests from the controlling thread.
    let retire = Atomic<Bool>(false)
    let retired = DispatchSemaphore(value: 0)
    let newSensitivity = Locked<Sensitivity?>(nil)
    /// Published by the detector thread.
    let status = Locked(ChannelStatus())

    init(
        acquisition: Acquisition, detector: any StreamDetector, rate: Double, sensitivity: Sensitivity,
        startTime: Double
    ) {
        createdNs = monotonicNow()
        exposure = ExposureCounter(state: .rest, at: startTime)
        lastSampleTime = startTime
        periodStart = startTime
        self.acquisition = acquisition
        self.detector = detector
        self.detectorRate = rate
        self.sensitivity = sensitivity
    }

    var sensor: SensorConfiguration { acquisition.sensor }

    /// Detector thread: makes what it knows visible to the supervisor.
    func publishStatus() {
        status.withLock {
            $0.lostReason = lostReason
            $0.measuredRate = measuredRate
            $0.chipLost = chipLost
            $0.ringDropped = ringDropped
            $0.lastSamplesNs = lastSamplesNs
            $0.lastHeardNs = lastHeardNs
        }
    }
}

/// Whether two sensors would hold the same hardware (bus address or GPIO line), so one must stop
/// before the other can open.
func shareHardware(_ a: SensorConfiguration, _ b: SensorConfiguration) -> Bool {
    if let i = a.interrupt, i == b.interrupt { return true }
    guard a.bus == b.bus, !a.isSimulated else { return false }
    switch (a.address, b.address) {
    case (.fixed(let x), .fixed(let y)): return x == y
    default: return true
    }
}

/// The daemon: acquisition threads, the detector thread, outputs, and their life cycle.
///
/// `start`, `reload` and `stop` are called from one controlling thread (the command's signal loop).
public final class Daemon: @unchecked Sendable {
    public private(set) var configuration: DaemonConfiguration
    private let options: DaemonOptions
    private var logger: Logger { options.logger }
    private let channels = Locked<[Channel]>([])
    private let runners = Locked<[SinkRunner]>([])
    /// While outputs are swapped on reload, events wait here (in order) instead of being lost.
    private let held = Locked<[DaemonEvent]?>(nil)
    private var socketServer: EventSocketServer?
    private let stopDetector = Atomic<Bool>(false)
    private var detectorThread: JoinableThread?
    private var supervisorThread: JoinableThread?
    private let stopSupervisor = Atomic<Bool>(false)
    private let supervisorWake = DispatchSemaphore(value: 0)
    private let seq = Atomic<UInt64>(0)
    /// The locked state directory (sequence numbers); nil before start and after stop.
    private var stateDirectory: StateDirectory?
    /// Sequence numbers up to this one are durably reserved (detector thread only after start).
    private var reservedSeq: UInt64 = 0
    private let recentTwitches = Locked<[UInt64]>([])
    private let ready = Atomic<Bool>(false)
    private let outputsDroppedBase = Atomic<Int>(0)
    /// Losses of sensors that were removed (their channels are gone), added by the detector thread.
    private let removedChipLost = Atomic<Int>(0)
    private let removedRingDropped = Atomic<Int>(0)
    /// `CLOCK_MONOTONIC` ns of the detector thread's last round (the watchdog needs it alive).
    private let detectorBeat = Atomic<UInt64>(0)
    /// Why the last reload was refused, shown in STATUS until a reload succeeds.
    private let reloadProblem = Locked<String?>(nil)
    private var stopped = false

    public init(configuration: DaemonConfiguration, options: DaemonOptions) {
        self.configuration = configuration
        self.options = options
    }

    /// The event socket actually served (nil when disabled).
    public var eventSocketPath: String? { socketServer?.path }
    /// The event-socket server, for tests and status.
    public var eventSocket: EventSocketServer? { socketServer }
    /// The sequence number of the last event.
    public var lastSeq: UInt64 { seq.load(ordering: .relaxed) }

    // MARK: start

    /// Starts outputs, sensors and the detector thread.
    ///
    /// Every sensor that opens starts streaming; one that does not is reported lost (journal,
    /// event socket, STATUS) and opened again with back-off. Start fails (exit 69) only when no
    /// sensor opened and none can ever open (every error says a retry cannot help), and (exit 78)
    /// when the detector refuses a sensor's settings.
    public func start() throws(DaemonStartError) {
        if configuration.lockMemory {
            if let problem = Realtime.lockMemory() {
                logger.warning("lock_memory: memory not locked: \(problem)")
            } else {
                logger.info("memory locked (mlockall)")
            }
        }
        var opened: [(SensorConfiguration, Result<any SampleSource, SourceError>)] = []
        for sensor in configuration.sensors {
            do {
                opened.append((sensor, .success(try options.sourceFactory(sensor))))
            } catch {
                opened.append((sensor, .failure(error)))
            }
        }
        let failures = opened.compactMap { o -> (SensorConfiguration, SourceError)? in
            if case .failure(let e) = o.1 { return (o.0, e) }
            return nil
        }
        if !failures.isEmpty && failures.count == opened.count && failures.allSatisfy({ !$0.1.isTransient }) {
            throw DaemonStartError(
                failures.map {
                    "\(configuration.file):\($0.0.line): sensor \($0.0.name) (\($0.0.location)): \($0.1.description)"
                }
                .joined(separator: "\n") + "\nno sensor can work: not starting", exit: .unavailable)
        }
        try openStateDirectory()
        let newRunners: [SinkRunner]
        do {
            newRunners = try makeOutputs(configuration)
        } catch {
            closeStateDirectory()
            throw error
        }
        runners.withLock { $0 = newRunners }
        logStart(configuration)
        var started: [Channel] = []
        for (sensor, source) in opened {
            do {
                started.append(try makeChannel(sensor, source: source))
            } catch {
                for c in started { c.acquisition.stop() }
                closeOutputs()
                closeStateDirectory()
                throw error
            }
            if case .failure = source {
                logger.notice(
                    "sensor \(sensor.name) (\(sensor.location)) did not open: reported lost, retried with back-off"
                )
            }
        }
        channels.withLock { $0 = started }
        stopDetector.store(false, ordering: .relaxed)
        detectorThread = JoinableThread(name: "detector") { [self] in detectorLoop() }
        supervisorThread = JoinableThread(name: "supervisor") { [self] in supervise() }
    }

    /// The start entry: version, detector settings, sensors.
    private func logStart(_ c: DaemonConfiguration) {
        let sensors = c.sensors.map {
            "\($0.location) \($0.chip.rawValue) \(fixed($0.rate, 0)) Hz ±\($0.rangeG) g at \($0.name)"
        }
        logger.notice(
            "twitchd \(options.version) started: sensitivity \(fixed(c.sensitivity.value, 2)), \(c.sensors.count) sensor\(c.sensors.count == 1 ? "" : "s"): \(sensors.joined(separator: "; "))",
            metadata: [
                "twitch_version": .string(options.version),
                "twitch_sensitivity": .string(fixed(c.sensitivity.value, 2)),
                "twitch_configuration": .string(c.file),
            ])
        for sensor in c.sensors {
            logger.info(
                "sensor \(sensor.name) \(sensor.chip.rawValue) \(Int(sensor.rate)) Hz at \(sensor.location)")
        }
    }

    /// Builds the detector and starts the acquisition thread of one sensor (its source opened,
    /// or the error opening it gave: then it starts lost and retries).
    private func makeChannel(
        _ sensor: SensorConfiguration, source: Result<any SampleSource, SourceError>,
        sensitivity: Sensitivity? = nil
    ) throws(DaemonStartError) -> Channel {
        let sensitivity = sensitivity ?? configuration.sensitivity
        let rate: Double
        switch source {
        case .success(let s): rate = s.sampleRate
        case .failure: rate = sensor.rate
        }
        // `TWITCH_SENSOR` and messages name the sensor as its source found it (`i2c-1/0x53 adxl345`).
        var named = sensor
        if case .success(let s) = source { named.sourceName = s.name }
        let sensor = named
        let detector: any StreamDetector
        do {
            detector = try options.detectorFactory(
                DetectorConfiguration(sampleRate: rate, sensitivity: sensitivity, location: sensor.location))
        } catch {
            throw DaemonStartError(
                "\(configuration.file):\(sensor.line): sensor \(sensor.location): \(error)", exit: .config)
        }
        let factory = options.sourceFactory
        let acquisition = Acquisition(
            sensor: sensor,
            ringCapacity: options.ringCapacity > 0
                ? options.ringCapacity : max(4096, Int(sensor.rate * sensor.speed) * 2),
            realtimePriority: configuration.realtimePriority,
            open: { () throws(SourceError) -> any SampleSource in try factory(sensor) })
        let channel = Channel(
            acquisition: acquisition, detector: detector, rate: rate, sensitivity: sensitivity,
            startTime: Double(monotonicNow()) / 1e9)
        acquisition.start(source: source)
        return channel
    }

    /// What opening a configuration's outputs gave: the sinks that opened, and what did not.
    private struct OpenedOutputs {
        var sinks: [any EventSink] = []
        var journalFailed = false
        var socketError: String?
    }

    /// Opens the journal and event-socket outputs of `config` (the event socket already opened
    /// by a reload's checks, when given): the one place start and reload build them.
    private func openOutputs(_ config: DaemonConfiguration, socket preopened: EventSocketServer? = nil)
        -> OpenedOutputs
    {
        var o = OpenedOutputs()
        if config.journal {
            if let journal = options.journalFactory(config, logger) {
                o.sinks.append(journal)
            } else {
                o.journalFailed = true
            }
        }
        socketServer = nil
        if let preopened {
            socketServer = preopened
            o.sinks.append(preopened)
        } else if let path = config.eventSocket {
            do {
                o.sinks.append(try openEventSocket(path))
                logger.info("serving events on \(path)")
            } catch {
                o.socketError = error.description
            }
        }
        return o
    }

    private func makeOutputs(_ config: DaemonConfiguration) throws(DaemonStartError) -> [SinkRunner] {
        let o = openOutputs(config)
        if let e = o.socketError { throw DaemonStartError("event socket: \(e)", exit: .cantCreate) }
        return (o.sinks + options.extraSinks).map {
            SinkRunner(sink: $0, capacity: options.sinkQueueCapacity)
        }
    }

    /// Serves events on `path` (not yet the current server: see ``socketServer``).
    private func makeEventSocket(_ path: String) throws(EventSocketServer.SetupError) -> EventSocketServer {
        let logger = self.logger
        return try EventSocketServer(
            path: path, clientBufferLimit: options.clientBufferLimit, log: { logger.warning("\($0)") })
    }

    /// Serves events on `path` and makes that server the current one (the one `tail` finds).
    private func openEventSocket(_ path: String) throws(EventSocketServer.SetupError) -> EventSocketServer {
        let server = try makeEventSocket(path)
        socketServer = server
        return server
    }

    private func closeOutputs() {
        let old = runners.withLock { r -> [SinkRunner] in
            defer { r = [] }
            return r
        }
        // All outputs flush in parallel; together they get 700 ms (stop must finish within 1 s).
        let deadline = ContinuousClock.now + .milliseconds(700)
        for r in old { r.requestClose() }
        for r in old {
            let left = max(.zero, deadline - ContinuousClock.now)
            if !r.close(timeout: left) {
                logger.error("output \(r.sink.name) did not flush in time (\(r.pending) events left)")
            }
            outputsDroppedBase.add(r.dropped + r.pending, ordering: .relaxed)
        }
    }

    // MARK: reload

    /// Applies a new configuration as a transaction: the new sensors are opened (and the detector
    /// settings checked) before any old one stops; if anything fails, the old configuration keeps
    /// running untouched, STATUS says so, and the error is thrown. Unchanged sensors keep running,
    /// changed ones restart, outputs are rebuilt when their settings changed. No event is lost:
    /// retired detectors are drained and finished, and old outputs deliver their queues.
    public func reload(_ new: DaemonConfiguration) throws(DaemonStartError) {
        options.notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicNow() / 1000)")
        defer { options.notifier.notify("READY=1\nSTATUS=\(summary().statusLine)") }
        do {
            // A problem from before is cleared by a reload that goes through; one this reload
            // finds with its outputs (an old output kept) is set while applying it.
            reloadProblem.withLock { $0 = nil }
            try applyReload(new)
        } catch {
            noteRefusedReload(error.description)
            throw error
        }
    }

    /// Records that a reload was refused before it reached the daemon (an invalid file) and the
    /// previous configuration kept; STATUS says so until a reload succeeds.
    public func refuseReload(_ reason: String) {
        noteRefusedReload(reason)
        options.notifier.notify("STATUS=\(summary().statusLine)")
    }

    private func noteRefusedReload(_ reason: String) {
        let firstLine = reason.split(separator: "\n").first.map(String.init) ?? reason
        reloadProblem.withLock { $0 = "reload refused (\(firstLine)): previous configuration kept" }
    }

    private func applyReload(_ new: DaemonConfiguration) throws(DaemonStartError) {
        let old = configuration
        let current = channels.withLock { $0 }
        // Which sensors stay (each running channel matches at most one new sensor).
        var kept: [Channel] = []
        var toStart: [SensorConfiguration] = []
        for sensor in new.sensors {
            if let c = current.first(where: { c in
                c.sensor.sameSettings(as: sensor) && !kept.contains { $0 === c }
            }) {
                kept.append(c)
            } else {
                toStart.append(sensor)
            }
        }
        let removed = current.filter { c in !kept.contains { $0 === c } }
        // 1. The detector accepts the new settings for every sensor.
        for sensor in new.sensors {
            do {
                _ = try options.detectorFactory(
                    DetectorConfiguration(
                        sampleRate: sensor.rate, sensitivity: new.sensitivity, location: sensor.location))
            } catch {
                throw DaemonStartError(
                    "\(new.file):\(sensor.line): sensor \(sensor.location): \(error)", exit: .config)
            }
        }
        // 2. Open the new sensors that need no hardware a running one holds; and a new event
        // socket at a new path. Nothing has stopped yet.
        let late = toStart.filter { s in removed.contains { shareHardware($0.sensor, s) } }
        var opened: [(SensorConfiguration, any SampleSource)] = []
        for sensor in toStart where !late.contains(sensor) {
            do {
                opened.append((sensor, try options.sourceFactory(sensor)))
            } catch {
                throw DaemonStartError(
                    "\(new.file):\(sensor.line): sensor \(sensor.name) (\(sensor.location)): \(error.description)",
                    exit: .unavailable)
            }
        }
        var newSocket: EventSocketServer?
        if let path = new.eventSocket, path != old.eventSocket {
            do {
                newSocket = try makeEventSocket(path)
            } catch {
                throw DaemonStartError("event socket: \(error.description)", exit: .cantCreate)
            }
        }
        // 3. Stop the removed sensors (what they delivered is still detected and published).
        for c in removed { retire(c) }
        // 4. Open the sensors that needed their hardware; if one fails, put the old ones back.
        for sensor in late {
            do {
                opened.append((sensor, try options.sourceFactory(sensor)))
            } catch {
                newSocket?.close()
                opened.removeAll()
                logger.error(
                    "reload: sensor \(sensor.location): \(error.description); restarting the previous sensors"
                )
                for c in removed {
                    let source = Result { () throws(SourceError) -> any SampleSource in
                        try options.sourceFactory(c.sensor)
                    }
                    if let restored = try? makeChannel(c.sensor, source: source) {
                        channels.withLock { $0.append(restored) }
                    }
                }
                throw DaemonStartError(
                    "\(new.file):\(sensor.line): sensor \(sensor.name) (\(sensor.location)): \(error.description)",
                    exit: .unavailable)
            }
        }
        // 5. Commit.
        if !new.sameOutputs(as: old) { rebuildOutputs(new, previous: old, socket: newSocket) }
        if new.sensitivity != old.sensitivity {
            for c in kept { c.newSensitivity.withLock { $0 = new.sensitivity } }
        }
        configuration = new
        for (sensor, source) in opened {
            logger.info("reload: starting sensor \(sensor.name) (\(sensor.location))")
            do {
                let c = try makeChannel(sensor, source: .success(source))
                channels.withLock { $0.append(c) }
            } catch {
                // Checked in step 1; only a detector that changed its mind gets here.
                logger.error("reload: \(error.description)")
            }
        }
        supervisorWake.signal()
    }

    /// Stops one sensor and waits for the detector thread to drain and finish it.
    private func retire(_ c: Channel) {
        logger.info("reload: stopping sensor \(c.sensor.name) (\(c.sensor.location))")
        c.acquisition.stop()
        c.retire.store(true, ordering: .releasing)
        if c.retired.wait(timeout: .now() + 2) == .timedOut {
            logger.warning("reload: detector of \(c.sensor.location) did not drain in time")
        }
    }

    /// Replaces the journal and the event socket (extra sinks such as the terminal printer stay);
    /// events published meanwhile wait in `held`, in order. An output of the new configuration
    /// that cannot open (the journal's state directory, a socket path) is put back as `previous`
    /// had it, and STATUS says so: a reload never leaves the daemon without an output it had.
    private func rebuildOutputs(
        _ new: DaemonConfiguration, previous old: DaemonConfiguration, socket preopened: EventSocketServer?
    ) {
        let oldRunners = runners.withLock { $0 }
        var keep: [SinkRunner] = []
        var close: [SinkRunner] = []
        for r in oldRunners {
            if options.extraSinks.contains(where: { $0 === r.sink }) {
                keep.append(r)
            } else {
                close.append(r)
            }
        }
        // Hold new events while the outputs change; the old ones flush what they have.
        held.withLock { h in
            h = []
            runners.withLock { $0 = [] }
        }
        for r in close {
            if !r.close(timeout: .seconds(2)) {
                logger.error(
                    "reload: output \(r.sink.name) did not flush in time (\(r.pending) events left)")
            }
            outputsDroppedBase.add(r.dropped + r.pending, ordering: .relaxed)
        }
        var opened = openOutputs(new, socket: preopened)
        var kept: [String] = []
        if opened.journalFailed, old.journal, let journal = options.journalFactory(old, logger) {
            opened.sinks.append(journal)
            kept.append("journal")
        }
        if let e = opened.socketError {
            logger.error("reload: event socket: \(e)")
            if let previous = old.eventSocket, let server = try? openEventSocket(previous) {
                opened.sinks.append(server)
                kept.append("event socket \(previous)")
            }
        }
        let fresh = opened.sinks
        if !kept.isEmpty {
            let text = "reload: new \(kept.joined(separator: " and ")) output could not open: previous kept"
            logger.error("\(text)")
            reloadProblem.withLock { $0 = text }
        }
        let freshRunners = fresh.map { SinkRunner(sink: $0, capacity: options.sinkQueueCapacity) }
        let all = freshRunners + keep
        // Swap in the new outputs and hand them the held events, in order, atomically with
        // respect to publish (which checks `held` first).
        held.withLock { h in
            for event in h ?? [] {
                for r in all { r.submit(event) }
            }
            runners.withLock { $0 = all }
            h = nil
        }
    }

    // MARK: stop

    /// Stops cleanly: STOPPING, sensors to standby, detectors drained and finished, outputs flushed.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        options.notifier.notify("STOPPING=1")
        stopSupervisor.store(true, ordering: .relaxed)
        supervisorWake.signal()
        supervisorThread?.join()
        supervisorThread = nil
        let all = channels.withLock { $0 }
        for c in all { c.acquisition.stop() }
        stopDetector.store(true, ordering: .releasing)
        detectorThread?.join()
        detectorThread = nil
        closeOutputs()
        closeStateDirectory()
        let s = summary()
        logger.info(
            "stopped: \(s.lastSeq) events so far, \(s.samplesDroppedInRing) samples dropped in the ring, \(s.samplesLostInChip) lost in the sensor, \(s.eventsDroppedInOutputs) events dropped by outputs"
        )
    }

    // MARK: detector thread

    private func detectorLoop() {
        let buffer = UnsafeMutableBufferPointer<AcquiredSample>.allocate(capacity: 1024)
        defer { buffer.deallocate() }
        let periodNs =
            UInt64(options.detectorPeriod.components.attoseconds / 1_000_000_000)
            + UInt64(options.detectorPeriod.components.seconds) * 1_000_000_000
        exposurePeriodSeconds = max(0.001, options.exposurePeriod.seconds)
        exposureGapSeconds = max(0.001, options.exposureGap.seconds)
        while true {
            let stopping = stopDetector.load(ordering: .acquiring)
            let current = channels.withLock { $0 }
            for c in current {
                if let s = c.newSensitivity.withLock({ r -> Sensitivity? in
                    defer { r = nil }
                    return r
                }) {
                    drain(c, buffer)
                    if let d = try? options.detectorFactory(
                        DetectorConfiguration(
                            sampleRate: c.detectorRate, sensitivity: s, location: c.sensor.location))
                    {
                        finishDetector(c)
                        c.detector = d
                        c.sensitivity = s
                        c.exposure.change(to: .rest, at: c.lastSampleTime)
                    }
                }
                let retiring = c.retire.load(ordering: .acquiring)
                drain(c, buffer)
                reportOverruns(c, force: retiring || stopping)
                checkExposure(c, final: retiring || stopping)
                if retiring || stopping { finishDetector(c) }
                c.publishStatus()
                if retiring {
                    channels.withLock { list in list.removeAll { $0 === c } }
                    removedChipLost.add(c.chipLost, ordering: .relaxed)
                    removedRingDropped.add(c.ringDropped, ordering: .relaxed)
                    c.retired.signal()
                }
            }
            detectorBeat.store(monotonicNow(), ordering: .relaxed)
            if stopping { return }
            sleepNanoseconds(periodNs)
        }
    }

    /// Takes everything the acquisition thread sent, samples and health in the order they came.
    private func drain(_ c: Channel, _ buffer: UnsafeMutableBufferPointer<AcquiredSample>) {
        let a = c.acquisition
        while true {
            // Samples first (acquiring the ring's head): every health message that came before
            // them is visible now.
            let available = a.ring.available
            while let h = a.health.peek(), h.position <= c.consumed {
                _ = a.health.pop()
                handle(c, h)
            }
            var n = min(available, buffer.count)
            if let h = a.health.peek() { n = min(n, h.position - c.consumed) }
            if n <= 0 { return }
            let got = a.ring.pop(into: UnsafeMutableBufferPointer(rebasing: buffer[0..<n]))
            c.consumed += got
            c.lastSamplesNs = monotonicNow()
            c.lastHeardNs = c.lastSamplesNs
            for i in 0..<got {
                let s = buffer[i]
                c.realtimeOffsetNs = s.realtimeNs &- Int64(bitPattern: s.monotonicNs)
                let sample = Sample(time: Double(s.monotonicNs) / 1e9, x: s.x, y: s.y, z: s.z)
                if !c.sampled {
                    c.sampled = true
                    c.exposure = ExposureCounter(state: c.exposure.state, at: sample.time)
                    c.lastSampleTime = sample.time
                    c.periodStart = sample.time
                } else if sample.time - c.lastSampleTime > exposureGapSeconds {
                    c.exposure.gap(from: c.lastSampleTime, to: sample.time)
                }
                if sample.time > c.lastSampleTime { c.lastSampleTime = sample.time }
                if sample.time - c.periodStart >= exposurePeriodSeconds {
                    c.exposure.charge(until: sample.time)
                    emitExposure(c)
                }
                c.detector.process(sample) { output in emit(c, output) }
            }
        }
    }

    /// One health change, at its place in the sample stream.
    private func handle(_ c: Channel, _ m: HealthMessage) {
        c.lastHeardNs = monotonicNow()
        let usec = m.monotonicNs / 1000
        switch m.health {
        case .started(let rate, let note):
            if let note { logger.info("\(c.sensor.location): \(note)") }
            // The source settled on another rate (e.g. the chip's nearest supported one): the
            // detector's filters must match it.
            if rate > 0, abs(rate - c.detectorRate) > 0.01 * c.detectorRate,
                let d = try? options.detectorFactory(
                    DetectorConfiguration(
                        sampleRate: rate, sensitivity: c.sensitivity, location: c.sensor.location))
            {
                finishDetector(c)
                c.detector = d
                logger.info("\(c.sensor.location): detector set for \(fixed(rate, 1)) Hz")
                c.detectorRate = rate
            }
        case .note(let text, let warning):
            if warning {
                logger.warning("\(c.sensor.location): \(text)")
            } else {
                logger.info("\(c.sensor.location): \(text)")
            }
        case .lost(let reason):
            guard c.lostReason == nil else { return }
            c.lostReason = reason
            logger.warning("sensor \(c.sensor.name) (\(c.sensor.location)) lost: \(reason)")
            publish(c, .sensorLost(detail: reason), monotonicUsec: usec)
        case .back:
            guard c.lostReason != nil else { return }
            c.lostReason = nil
            logger.notice("sensor \(c.sensor.name) (\(c.sensor.location)) back")
            publish(c, .sensorBack, monotonicUsec: usec)
        case .samplesLost(let n, let ring):
            if ring {
                c.ringDropped += n
                c.pendingRingDropped += n
            } else {
                c.chipLost += n
                c.pendingChipLost += n
            }
        case .rate(let hz):
            c.measuredRate = hz
        }
    }

    private func finishDetector(_ c: Channel) {
        c.detector.finish { output in emit(c, output) }
    }

    private func emit(_ c: Channel, _ output: DetectorOutput) {
        let kind: DaemonEvent.Kind
        let time: Double
        switch output {
        case .twitch(let t):
            kind = .twitch(t)
            time = t.onset
        case .state(let s):
            kind = .state(s.state)
            time = s.time
            c.exposure.change(to: s.state, at: s.time)
        case .gap(let g):
            // No samples (a lost sensor, a stall): not rest. The sensor-lost/back entries
            // already bracket an outage; this says how long the detector saw nothing.
            logger.notice(
                "\(c.sensor.location): no samples for \(fixed(g.to - g.from, 2)) s: not counted as rest")
            return
        case .candidate:
            return  // explanations are for replay; the daemon never asks for them
        }
        let mono = UInt64(max(0, (time * 1e6).rounded()))
        publish(c, kind, monotonicUsec: mono)
        if case .twitch = kind {
            recentTwitches.withLock { $0.append(mono) }
        }
    }

    /// After a drain (the ring is empty): a sensor on the real clock that has delivered nothing
    /// for a whole period (lost, unplugged) has the time up to now charged as time without
    /// samples and written, so a dead sensor still reports; a sensor that stops (`final`) writes
    /// its last period. Complete periods of a delivering sensor are written from `drain`.
    private func checkExposure(_ c: Channel, final: Bool) {
        let now = Double(monotonicNow()) / 1e9
        let silent = c.sensor.speed == 1 && now - c.lastSampleTime > max(exposureGapSeconds, 1)
        guard final || (silent && now - c.periodStart >= exposurePeriodSeconds) else { return }
        c.exposure.charge(until: c.lastSampleTime)
        if silent { c.exposure.gap(from: c.lastSampleTime, to: now) }
        emitExposure(c)
    }

    /// Publishes what was charged since the period began and starts the next period there.
    private func emitExposure(_ c: Channel) {
        let end = c.exposure.since
        guard end > c.periodStart else { return }
        let lost = c.chipLost + c.ringDropped
        let period = DaemonEvent.ExposurePeriod(
            exposure: c.exposure.take(),
            startRealtimeUsec: Int64((c.periodStart * 1e6).rounded()) &+ c.realtimeOffsetNs / 1000,
            samplesLost: max(0, lost - c.periodLostBase))
        c.periodLostBase = lost
        c.periodStart = end
        publish(c, .exposure(period), monotonicUsec: UInt64((end * 1e6).rounded()))
    }

    private var exposurePeriodSeconds = 600.0
    private var exposureGapSeconds = 0.25

    private func publish(_ c: Channel, _ kind: DaemonEvent.Kind, monotonicUsec: UInt64) {
        // Exposure periods are bookkeeping outside the event sequence (seq 0): the sequence
        // numbers clients and the journal see stay gap-free for the events themselves.
        var exposure = false
        if case .exposure = kind { exposure = true }
        let n = exposure ? 0 : seq.add(1, ordering: .relaxed).newValue
        if n > reservedSeq { reserveSequenceNumbers(from: n) }
        let event = DaemonEvent(
            seq: n, kind: kind, location: c.sensor.location, sensor: c.sensor.name,
            monotonicUsec: monotonicUsec,
            realtimeUsec: Int64(bitPattern: monotonicUsec) &+ c.realtimeOffsetNs / 1000,
            emittedMonotonicUsec: monotonicNow() / 1000, simulated: c.sensor.isSimulated)
        // Submitting is quick (a bounded queue append); doing it under `held` makes the output
        // swap on reload atomic with respect to publishing.
        let behind = held.withLock { h -> [SinkRunner] in
            if h != nil {
                h?.append(event)
                return []
            }
            // Exposure is bookkeeping for the journal and reports, not served to live clients.
            let extra = options.exposureToExtraSinks
            return runners.withLock { $0 }.filter {
                !(exposure && !($0.sink.takesExposure || (extra && !($0.sink is EventSocketServer))))
                    && !$0.submit(event) && $0.dropped.isPowerOfTwo
            }
        }
        for r in behind {
            logger.warning("output \(r.sink.name) is behind: \(r.dropped) events dropped so far")
        }
    }

    /// Turns the losses the acquisition thread reported into overrun events, at most one of each
    /// kind a second (and at once when the sensor stops).
    private func reportOverruns(_ c: Channel, force: Bool) {
        let nowNs = monotonicNow()
        guard c.pendingChipLost + c.pendingRingDropped > 0,
            force || nowNs &- c.lastOverrunReportNs >= 1_000_000_000
        else { return }
        let nowUsec = nowNs / 1000
        c.lastOverrunReportNs = nowNs
        if c.pendingChipLost > 0 {
            logger.warning("\(c.sensor.location): \(c.pendingChipLost) samples lost in the sensor FIFO")
            publish(c, .overrun(lostSamples: c.pendingChipLost, stage: "chip"), monotonicUsec: nowUsec)
            c.pendingChipLost = 0
        }
        if c.pendingRingDropped > 0 {
            logger.warning(
                "\(c.sensor.location): \(c.pendingRingDropped) samples dropped: detector behind")
            publish(c, .overrun(lostSamples: c.pendingRingDropped, stage: "ring"), monotonicUsec: nowUsec)
            c.pendingRingDropped = 0
        }
    }

    // MARK: supervisor: READY, STATUS, WATCHDOG

    private func supervise() {
        let notifier = options.notifier
        let watchdogNs: UInt64? = notifier.watchdogPingInterval.map {
            UInt64($0.components.seconds) * 1_000_000_000 + UInt64($0.components.attoseconds / 1_000_000_000)
        }
        let statusNs =
            UInt64(options.statusPeriod.components.seconds) * 1_000_000_000
            + UInt64(options.statusPeriod.components.attoseconds / 1_000_000_000)
        // Wake often enough for the watchdog (half its period) and for READY.
        var tickNs: UInt64 = min(statusNs, 250_000_000)
        if let w = watchdogNs { tickNs = min(tickNs, max(w / 4, 1_000_000)) }
        var lastStatus: UInt64 = 0
        var lastWatchdog: UInt64 = 0
        var allStreaming = false
        while !stopSupervisor.load(ordering: .relaxed) {
            let now = monotonicNow()
            let current = channels.withLock { $0 }
            let statuses = current.map { c in (c, c.status.withLock { $0 }) }
            let streaming = statuses.filter { $0.1.lastSamplesNs != 0 && $0.1.lostReason == nil }
            if !ready.load(ordering: .relaxed), !streaming.isEmpty {
                // READY once one sensor streams; the others are reported lost and retried.
                ready.store(true, ordering: .relaxed)
                lastStatus = now
                notifier.notify("READY=1\nSTATUS=\(summary().statusLine)")
                if streaming.count < current.count {
                    let others = statuses.filter { s in !streaming.contains { $0.0 === s.0 } }
                        .map { "\($0.0.sensor.location) (\(firstSentence($0.1.lostReason ?? "starting")))" }
                    logger.notice(
                        "ready: \(streaming.count) of \(current.count) sensors streaming; not yet: \(others.joined(separator: ", "))"
                    )
                }
            }
            let all = !current.isEmpty && streaming.count == current.count
            if all && !allStreaming { logger.info("all sensors streaming") }
            allStreaming = all
            if let w = watchdogNs, now &- lastWatchdog >= w &- w / 8,
                healthy(statuses.map(\.1), current, now: now)
            {
                lastWatchdog = now
                notifier.notify("WATCHDOG=1")
            }
            if now &- lastStatus >= statusNs {
                lastStatus = now
                notifier.notify("STATUS=\(summary().statusLine)")
            }
            _ = supervisorWake.wait(timeout: .now() + .nanoseconds(Int(tickNs)))
        }
    }

    private func healthy(_ statuses: [ChannelStatus], _ current: [Channel], now: UInt64) -> Bool {
        Self.healthy(
            statuses, createdNs: current.map(\.createdNs),
            detectorBeat: detectorBeat.load(ordering: .relaxed),
            now: now)
    }

    /// Healthy (the watchdog is pinged) while the detector thread runs, at least one sensor
    /// delivered samples within the last 2 seconds, and every other sensor is either reported
    /// lost with its acquisition thread still heard from (retrying) or new: a sensor that went
    /// silent without being reported lost means a stuck acquisition.
    ///
    /// `now` is read before the statuses and the beat, so the detector thread may have stored a
    /// newer time meanwhile: such a time has age 0 (``age(of:at:)``), never a wrapped-around
    /// one, which once made a streaming daemon look stalled for a moment.
    static func healthy(
        _ statuses: [ChannelStatus], createdNs: [UInt64], detectorBeat beat: UInt64, now: UInt64
    ) -> Bool {
        guard !statuses.isEmpty, statuses.count == createdNs.count else { return false }
        let limit: UInt64 = 2_000_000_000
        guard beat != 0, age(of: beat, at: now) < limit else { return false }
        var delivering = 0
        for (s, created) in zip(statuses, createdNs) {
            if s.lastSamplesNs != 0 && age(of: s.lastSamplesNs, at: now) < limit && s.lostReason == nil {
                delivering += 1
            } else if s.lostReason != nil && s.lastHeardNs != 0 && age(of: s.lastHeardNs, at: now) < limit {
                continue
            } else if s.lastSamplesNs == 0 && age(of: created, at: now) < limit {
                continue
            } else {
                return false
            }
        }
        return delivering > 0
    }

    /// How long before `now` the monotonic time `t` was, in ns; 0 when `t` is later than `now`.
    static func age(of t: UInt64, at now: UInt64) -> UInt64 { now > t ? now - t : 0 }

    /// A live summary: measured rates, lost sensors, twitches in the last hour, losses.
    public func summary() -> DaemonSummary {
        let now = monotonicNow()
        let current = channels.withLock { $0 }
        let statuses = current.map { c in c.status.withLock { $0 } }
        var rates: [(String, Double)] = []
        var lost: [(String, String)] = []
        var ring = removedRingDropped.load(ordering: .relaxed)
        var chip = removedChipLost.load(ordering: .relaxed)
        for (c, s) in zip(current, statuses) {
            rates.append((c.sensor.location, s.measuredRate))
            if let reason = s.lostReason { lost.append((c.sensor.location, reason)) }
            ring += s.ringDropped
            chip += s.chipLost
        }
        let hourAgo = now / 1000 > 3_600_000_000 ? now / 1000 - 3_600_000_000 : 0
        let lastHour = recentTwitches.withLock { list -> Int in
            list.removeAll { $0 < hourAgo }
            return list.count
        }
        let outputs = runners.withLock { $0 }.reduce(outputsDroppedBase.load(ordering: .relaxed)) {
            $0 + $1.dropped
        }
        return DaemonSummary(
            rates: rates, lost: lost, twitchesLastHour: lastHour, samplesDroppedInRing: ring,
            samplesLostInChip: chip, eventsDroppedInOutputs: outputs,
            healthy: healthy(statuses, current, now: now), lastSeq: lastSeq,
            reloadProblem: reloadProblem.withLock { $0 })
    }

    // MARK: sequence persistence

    /// Locks the state directory and continues the sequence numbers where the last run left them,
    /// after reserving the first block durably.
    private func openStateDirectory() throws(DaemonStartError) {
        let dir = try StateDirectory(path: configuration.stateDirectory)
        stateDirectory = dir
        let saved = dir.load()
        if !saved.clean {
            logger.notice(
                "the previous run did not stop cleanly: sequence numbers continue after its reserved block, at \(saved.last &+ 1)"
            )
        }
        seq.store(saved.last, ordering: .relaxed)
        reservedSeq = saved.last
        reserveSequenceNumbers(from: saved.last &+ 1)
    }

    /// Reserves `first` and the block after it before any of them is used, so that a crash (no
    /// clean stop to save the last number) never leads to a number being used twice.
    private func reserveSequenceNumbers(from first: UInt64) {
        guard let dir = stateDirectory else { return }
        let upTo = first &+ StateDirectory.blockSize &- 1
        if let problem = dir.reserve(upTo: upTo) {
            logger.error(
                "cannot reserve sequence numbers in \(dir.path): \(problem); after a crash numbers may repeat"
            )
        }
        reservedSeq = upTo
    }

    /// Saves the last number as a clean stop and releases the lock.
    private func closeStateDirectory() {
        guard let dir = stateDirectory else { return }
        if let problem = dir.saveClean(lastSeq) {
            logger.error("cannot save the last sequence number in \(dir.path): \(problem)")
        }
        dir.close()
        stateDirectory = nil
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension Int {
    fileprivate var isPowerOfTwo: Bool { self > 0 && (self & (self - 1)) == 0 }
}
