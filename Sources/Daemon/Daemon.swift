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
    public var twitchesLastHour: Int
    public var samplesDroppedInRing: Int
    public var samplesLostInChip: Int
    public var eventsDroppedInOutputs: Int
    public var healthy: Bool
    public var lastSeq: UInt64

    public static func == (a: DaemonSummary, b: DaemonSummary) -> Bool {
        a.rates.map(\.location) == b.rates.map(\.location) && a.rates.map(\.hz) == b.rates.map(\.hz)
            && a.twitchesLastHour == b.twitchesLastHour && a.samplesDroppedInRing == b.samplesDroppedInRing
            && a.samplesLostInChip == b.samplesLostInChip
            && a.eventsDroppedInOutputs == b.eventsDroppedInOutputs
            && a.healthy == b.healthy && a.lastSeq == b.lastSeq
    }

    /// The `STATUS=` line.
    public var statusLine: String {
        let r = rates.map { "\($0.location) \(Int($0.hz.rounded())) Hz" }.joined(separator: ", ")
        var s = "\(twitchesLastHour) twitches in the last hour; \(r.isEmpty ? "no sensor" : r)"
        if samplesDroppedInRing + samplesLostInChip > 0 {
            s += "; \(samplesDroppedInRing + samplesLostInChip) samples lost"
        }
        if eventsDroppedInOutputs > 0 { s += "; \(eventsDroppedInOutputs) events dropped by outputs" }
        if !healthy { s += "; acquisition stalled" }
        return s
    }
}

/// One sensor as the detector thread sees it.
final class Channel: @unchecked Sendable {
    let acquisition: Acquisition
    // The fields below are touched by the detector thread only.
    var detector: any StreamDetector
    var realtimeOffsetNs: Int64 = 0
    var seenChipLost = 0
    var seenRingDropped = 0
    var seenFailures = 0
    var wasFailing = false
    var pendingChipLost = 0
    var pendingRingDropped = 0
    var lastOverrunReportNs: UInt64 = 0
    // Exposure accounting (detector thread), on the samples' time base (seconds).
    var exposure: ExposureCounter
    var lastSampleTime: Double
    var periodStart: Double
    var periodLostBase = 0
    /// Whether a sample has arrived yet (the account starts at the first sample).
    var sampled = false
    // Requests from the controlling thread.
    let retire = Atomic<Bool>(false)
    let retired = DispatchSemaphore(value: 0)
    let replacementDetector = Mutex<(any StreamDetector)?>(nil)
    // Rate measurement (status thread).
    var rateWindowStartNs: UInt64 = 0
    var rateWindowStartCount = 0
    var measuredRate: Double = 0

    /// The rate and sensitivity the current detector was built for.
    var detectorRate: Double
    var sensitivity: Sensitivity

    init(
        acquisition: Acquisition, detector: any StreamDetector, rate: Double, sensitivity: Sensitivity,
        startTime: Double
    ) {
        exposure = ExposureCounter(state: .rest, at: startTime)
        lastSampleTime = startTime
        periodStart = startTime
        self.acquisition = acquisition
        self.detector = detector
        self.detectorRate = rate
        self.sensitivity = sensitivity
    }

    var sensor: SensorConfiguration { acquisition.sensor }

    /// The rate the source reported when it started (else the configured one).
    var sampleRate: Double {
        let milli = acquisition.rate.load(ordering: .relaxed)
        return milli > 0 ? Double(milli) / 1000 : sensor.rate
    }
}

/// The daemon: acquisition threads, the detector thread, outputs, and their life cycle.
///
/// `start`, `reload` and `stop` are called from one controlling thread (the command's signal loop).
public final class Daemon: @unchecked Sendable {
    public private(set) var configuration: DaemonConfiguration
    private let options: DaemonOptions
    private var logger: Logger { options.logger }
    private let channels = Mutex<[Channel]>([])
    private let runners = Mutex<[SinkRunner]>([])
    /// While outputs are swapped on reload, events wait here (in order) instead of being lost.
    private let held = Mutex<[DaemonEvent]?>(nil)
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
    private let recentTwitches = Mutex<[UInt64]>([])
    private let ready = Atomic<Bool>(false)
    private let outputsDroppedBase = Atomic<Int>(0)
    private let summaryCache = Mutex<DaemonSummary?>(nil)
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
    public func start() throws(DaemonStartError) {
        if configuration.lockMemory {
            if let problem = Realtime.lockMemory() {
                logger.warning("lock_memory: memory not locked: \(problem)")
            } else {
                logger.info("memory locked (mlockall)")
            }
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
        var started: [Channel] = []
        for sensor in configuration.sensors {
            do {
                started.append(try makeChannel(sensor))
            } catch {
                for c in started { c.acquisition.stop() }
                closeOutputs()
                closeStateDirectory()
                throw error
            }
        }
        channels.withLock { $0 = started }
        stopDetector.store(false, ordering: .relaxed)
        detectorThread = JoinableThread(name: "detector") { [self] in detectorLoop() }
        supervisorThread = JoinableThread(name: "supervisor") { [self] in supervise() }
        for sensor in configuration.sensors {
            logger.info(
                "sensor \(sensor.name) \(sensor.chip.rawValue) \(Int(sensor.rate)) Hz at \(sensor.location)")
        }
    }

    private func makeChannel(_ sensor: SensorConfiguration) throws(DaemonStartError) -> Channel {
        var sensor = sensor
        let source: any SampleSource
        do {
            source = try options.sourceFactory(sensor)
        } catch {
            throw DaemonStartError(
                "\(configuration.file):\(sensor.line): sensor \(sensor.name) (\(sensor.location)): \(error.description)",
                exit: .unavailable)
        }
        // `TWITCH_SENSOR` and messages name the sensor as its source found it (`i2c-1/0x53 adxl345`).
        sensor.sourceName = source.name
        let detector: any StreamDetector
        do {
            detector = try options.detectorFactory(
                DetectorConfiguration(
                    sampleRate: source.sampleRate, sensitivity: configuration.sensitivity,
                    location: sensor.location))
        } catch {
            throw DaemonStartError(
                "\(configuration.file):\(sensor.line): sensor \(sensor.location): \(error)", exit: .config)
        }
        let acquisition = Acquisition(
            sensor: sensor,
            ringCapacity: options.ringCapacity > 0
                ? options.ringCapacity : max(4096, Int(sensor.rate * sensor.speed) * 2),
            realtimePriority: configuration.realtimePriority)
        let channel = Channel(
            acquisition: acquisition, detector: detector, rate: source.sampleRate,
            sensitivity: configuration.sensitivity, startTime: Double(monotonicNow()) / 1e9)
        acquisition.start(source: source)
        return channel
    }

    private func makeOutputs(_ config: DaemonConfiguration) throws(DaemonStartError) -> [SinkRunner] {
        var sinks: [any EventSink] = []
        if config.journal, let journal = options.journalFactory(config, logger) { sinks.append(journal) }
        socketServer = nil
        if let path = config.eventSocket {
            do {
                sinks.append(try openEventSocket(path))
                logger.info("serving events on \(path)")
            } catch {
                throw DaemonStartError("event socket: \(error.description)", exit: .cantCreate)
            }
        }
        sinks.append(contentsOf: options.extraSinks)
        return sinks.map { SinkRunner(sink: $0, capacity: options.sinkQueueCapacity) }
    }

    /// Serves events on `path` and makes that server the current one (the one `tail` finds).
    private func openEventSocket(_ path: String) throws(EventSocketServer.SetupError) -> EventSocketServer {
        let logger = self.logger
        let server = try EventSocketServer(
            path: path, clientBufferLimit: options.clientBufferLimit, log: { logger.warning("\($0)") })
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

    /// Applies a new configuration: unchanged sensors keep running, changed ones restart, outputs
    /// are rebuilt when their settings changed. No event is lost: retired detectors are drained and
    /// finished, and old outputs deliver their queues before closing.
    public func reload(_ new: DaemonConfiguration) throws(DaemonStartError) {
        options.notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicNow() / 1000)")
        defer { options.notifier.notify("READY=1\nSTATUS=\(summary().statusLine)") }
        let old = configuration
        if !new.sameOutputs(as: old) {
            // Extra sinks (terminal printer) survive; journal and socket are rebuilt.
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
            var fresh: [any EventSink] = []
            if new.journal, let journal = options.journalFactory(new, logger) { fresh.append(journal) }
            socketServer = nil
            if let path = new.eventSocket {
                do { fresh.append(try openEventSocket(path)) } catch {
                    logger.error("reload: event socket: \(error.description)")
                }
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
        let current = channels.withLock { $0 }
        var kept: [Channel] = []
        for c in current {
            if new.sensors.contains(where: { $0.sameSettings(as: c.sensor) }) {
                kept.append(c)
            } else {
                logger.info("reload: stopping sensor \(c.sensor.name) (\(c.sensor.location))")
                c.acquisition.stop()
                c.retire.store(true, ordering: .releasing)
                if c.retired.wait(timeout: .now() + 2) == .timedOut {
                    logger.warning("reload: detector of \(c.sensor.location) did not drain in time")
                }
            }
        }
        if new.sensitivity != old.sensitivity {
            for c in kept {
                if let d = try? options.detectorFactory(
                    DetectorConfiguration(
                        sampleRate: c.sampleRate, sensitivity: new.sensitivity, location: c.sensor.location))
                {
                    c.replacementDetector.withLock { $0 = d }
                    c.sensitivity = new.sensitivity
                }
            }
        }
        configuration = new
        for sensor in new.sensors where !kept.contains(where: { $0.sensor.sameSettings(as: sensor) }) {
            logger.info("reload: starting sensor \(sensor.name) (\(sensor.location))")
            do {
                let c = try makeChannel(sensor)
                channels.withLock { $0.append(c) }
            } catch {
                logger.error("reload: \(error.description)")
            }
        }
        ready.store(false, ordering: .relaxed)
        supervisorWake.signal()
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
            var retiredAny = false
            for c in current {
                if let d = c.replacementDetector.withLock({ r -> (any StreamDetector)? in
                    defer { r = nil }
                    return r
                }) {
                    drain(c, buffer)
                    finishDetector(c)
                    c.detector = d
                    c.exposure.change(to: .rest, at: c.lastSampleTime)
                }
                let retiring = c.retire.load(ordering: .acquiring)
                drain(c, buffer)
                checkHealth(c, force: retiring || stopping)
                checkExposure(c, final: retiring || stopping)
                if retiring || stopping {
                    finishDetector(c)
                    if retiring {
                        retiredAny = true
                        c.retired.signal()
                    }
                }
            }
            if retiredAny {
                channels.withLock { list in list.removeAll { $0.retire.load(ordering: .relaxed) } }
            }
            if stopping { return }
            sleepNanoseconds(periodNs)
        }
    }

    private func drain(_ c: Channel, _ buffer: UnsafeMutableBufferPointer<AcquiredSample>) {
        while true {
            let n = c.acquisition.ring.pop(into: buffer)
            if n == 0 { return }
            for i in 0..<n {
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
            if n < buffer.count { return }
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
        let lost =
            c.acquisition.chipLost.load(ordering: .relaxed)
            + c.acquisition.ringDropped.load(ordering: .relaxed)
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
                !(exposure && !($0.sink is JournalSink || (extra && !($0.sink is EventSocketServer))))
                    && !$0.submit(event) && $0.dropped.isPowerOfTwo
            }
        }
        for r in behind {
            logger.warning("output \(r.sink.name) is behind: \(r.dropped) events dropped so far")
        }
    }

    /// Turns the acquisition counters into sensor lost/back and overrun events.
    private func checkHealth(_ c: Channel, force: Bool) {
        let a = c.acquisition
        // The source settled on another rate (e.g. the chip's nearest supported one): the
        // detector's filters must match it.
        let milli = a.rate.load(ordering: .relaxed)
        if milli > 0 {
            let rate = Double(milli) / 1000
            if abs(rate - c.detectorRate) > 0.01 * c.detectorRate,
                let d = try? options.detectorFactory(
                    DetectorConfiguration(
                        sampleRate: rate, sensitivity: c.sensitivity, location: c.sensor.location))
            {
                finishDetector(c)
                c.detector = d
                logger.info("\(c.sensor.location): detector set for \(fixed(rate, 1)) Hz")
                c.detectorRate = rate
            }
        }
        if let note = a.schedulingNote.withLock({ n -> String? in
            defer { n = nil }
            return n
        }) {
            if note.hasPrefix("real-time priority") {
                logger.warning("\(c.sensor.location): \(note)")
            } else {
                logger.info("\(c.sensor.location): \(note)")
            }
        }
        let failures = a.failures.load(ordering: .relaxed)
        let failing = a.failing.load(ordering: .relaxed) != 0
        let nowNs = monotonicNow()
        let nowUsec = nowNs / 1000
        if failures != c.seenFailures {
            c.seenFailures = failures
            c.wasFailing = true
            let detail = a.lastErrorText
            logger.warning("sensor \(c.sensor.name) (\(c.sensor.location)) lost: \(detail)")
            publish(c, .sensorLost(detail: detail), monotonicUsec: nowUsec)
        } else if c.wasFailing && !failing {
            c.wasFailing = false
            logger.notice("sensor \(c.sensor.name) (\(c.sensor.location)) back")
            publish(c, .sensorBack, monotonicUsec: nowUsec)
        }
        let chip = a.chipLost.load(ordering: .relaxed)
        let ring = a.ringDropped.load(ordering: .relaxed)
        c.pendingChipLost += chip - c.seenChipLost
        c.pendingRingDropped += ring - c.seenRingDropped
        c.seenChipLost = chip
        c.seenRingDropped = ring
        if c.pendingChipLost + c.pendingRingDropped > 0
            && (force || nowNs &- c.lastOverrunReportNs >= 1_000_000_000)
        {
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
        while !stopSupervisor.load(ordering: .relaxed) {
            let now = monotonicNow()
            let current = channels.withLock { $0 }
            if !ready.load(ordering: .relaxed), !current.isEmpty,
                current.allSatisfy({ $0.acquisition.streaming.load(ordering: .relaxed) })
            {
                ready.store(true, ordering: .relaxed)
                lastStatus = now
                notifier.notify("READY=1\nSTATUS=\(summary().statusLine)")
                logger.info("all sensors streaming")
            }
            if let w = watchdogNs, now &- lastWatchdog >= w &- w / 8, healthy(current, now: now) {
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

    /// Acquisition is healthy when every sensor delivered samples within the last 2 seconds.
    private func healthy(_ current: [Channel], now: UInt64) -> Bool {
        guard !current.isEmpty else { return false }
        return current.allSatisfy { c in
            let last = c.acquisition.lastReadNs.load(ordering: .relaxed)
            return last != 0 && now &- last < 2_000_000_000
                && c.acquisition.failing.load(ordering: .relaxed) == 0
        }
    }

    /// A live summary: measured rates, twitches in the last hour, losses.
    public func summary() -> DaemonSummary {
        let now = monotonicNow()
        let current = channels.withLock { $0 }
        var rates: [(String, Double)] = []
        var ring = 0
        var chip = 0
        for c in current {
            let count = c.acquisition.acquired.load(ordering: .relaxed)
            if c.rateWindowStartNs == 0 {
                c.rateWindowStartNs = now
                c.rateWindowStartCount = count
            } else if now &- c.rateWindowStartNs >= 1_000_000_000 {
                c.measuredRate =
                    Double(count - c.rateWindowStartCount) / (Double(now &- c.rateWindowStartNs) / 1e9)
                c.rateWindowStartNs = now
                c.rateWindowStartCount = count
            }
            rates.append((c.sensor.location, c.measuredRate))
            ring += c.acquisition.ringDropped.load(ordering: .relaxed)
            chip += c.acquisition.chipLost.load(ordering: .relaxed)
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
            rates: rates, twitchesLastHour: lastHour, samplesDroppedInRing: ring, samplesLostInChip: chip,
            eventsDroppedInOutputs: outputs, healthy: healthy(current, now: now), lastSeq: lastSeq)
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
