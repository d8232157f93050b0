public import Detector
import Logging
import Synchronization
public import TwitchCore

/// One timestamped reading as it crosses the ring: plain numbers, copied without allocation.
public struct AcquiredSample: Sendable, BitwiseCopyable, Equatable {
    /// `CLOCK_MONOTONIC` nanoseconds of the reading (or of the simulation's clock).
    public var monotonicNs: UInt64
    /// `CLOCK_REALTIME` nanoseconds at the same instant.
    public var realtimeNs: Int64
    /// Acceleration in g.
    public var x: Double
    public var y: Double
    public var z: Double

    public init(monotonicNs: UInt64, realtimeNs: Int64, x: Double, y: Double, z: Double) {
        self.monotonicNs = monotonicNs
        self.realtimeNs = realtimeNs
        self.x = x
        self.y = y
        self.z = z
    }
}

/// What one ``SampleSource/read(into:)`` produced.
public struct SourceRead: Sendable, Equatable {
    /// A change in the sensor's health that a source handling its own reconnection reports
    /// (instead of throwing).
    public enum Health: Sendable, Equatable {
        /// The sensor stopped answering; the source keeps trying on its own.
        case lost(reason: String)
        /// The sensor answers again.
        case back
    }

    /// Samples written to the buffer.
    public var count: Int
    /// Samples the source knows it lost (FIFO overrun, outage) since the previous read.
    public var lost: Int
    /// Set when the sensor was lost or came back during this read.
    public var health: Health?
    /// Something worth logging (e.g. the chip configuration applied), logged off this thread.
    public var note: String?

    public init(count: Int, lost: Int = 0, health: Health? = nil, note: String? = nil) {
        self.count = count
        self.lost = lost
        self.health = health
        self.note = note
    }
}

/// A source failure, with whether a retry can help.
///
/// Every failed sensor is retried with back-off; `isTransient` says how, and whether the daemon
/// may start at all: a failed read that is transient retries the same source, any other failure
/// opens the sensor again through the ``SourceFactory``; `run` exits 69 only when no sensor
/// opened and none of the errors is transient (e.g. a missing bus is transient: it may appear;
/// permission denied is not).
public struct SourceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// Whether a retry can help without a change of configuration or permissions.
    public var isTransient: Bool
    public init(_ description: String, transient: Bool) {
        self.description = description
        self.isTransient = transient
    }
}

/// The acquisition seam: a sensor (chip driver on a bus, real or simulated) that delivers samples.
///
/// Used from one acquisition thread only. `read` may block, but must return within about 100 ms
/// (with zero samples if none came) so the thread notices a stop request.
public protocol SampleSource: AnyObject {
    /// e.g. `/dev/i2c-1@0x1D adxl355`.
    var name: String { get }
    /// The output data rate the source delivers, in Hz (measured when the source knows it).
    var sampleRate: Double { get }
    /// Configures the sensor and starts measuring.
    func start() throws(SourceError)
    /// Waits for samples and copies them into `buffer`.
    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead
    /// Stops measuring (low-power standby). Must not throw; errors are ignored at shutdown.
    func standby()
}

/// Builds the source for a configured sensor.
public typealias SourceFactory = @Sendable (SensorConfiguration) throws(SourceError) -> any SampleSource

/// The detector seam: ``TwitchDetector`` in the daemon; something simpler in some tests.
public protocol StreamDetector: Sendable {
    /// Feeds one sample; `emit` is called for every twitch or state change completed.
    mutating func process(_ sample: Sample, _ emit: (DetectorOutput) -> Void)
    /// Flushes a twitch still in progress.
    mutating func finish(_ emit: (DetectorOutput) -> Void)
}

extension TwitchDetector: StreamDetector {}

/// Builds a detector for one sensor.
public typealias DetectorFactory = @Sendable (DetectorConfiguration) throws -> any StreamDetector

/// A change in acquisition, sent by the acquisition thread through the same ordered path as the
/// samples (``Acquisition/health``): the detector thread sees it exactly between the samples
/// before and after it, and never reads counters the acquisition thread writes.
enum Health: Sendable {
    /// The source started (or reconnected) and delivers `rate` Hz; `note` says how it is set up.
    case started(rate: Double, note: String?)
    /// Something to log from the acquisition thread (e.g. its scheduling); `warning` raises it.
    case note(String, warning: Bool)
    /// The sensor stopped answering, or could not be opened (`reason`); it is being retried.
    case lost(reason: String)
    /// The sensor answers again.
    case back
    /// Samples lost in the sensor's FIFO (`ring == false`) or refused by a full ring (`true`).
    case samplesLost(Int, ring: Bool)
    /// Samples per second delivered over the last second or so.
    case rate(Double)
}

/// One ``Health`` change and where it falls in the sample stream.
struct HealthMessage: Sendable {
    /// Samples pushed into the sample ring before this change.
    var position: Int
    /// `CLOCK_MONOTONIC` ns when the acquisition thread saw it.
    var monotonicNs: UInt64
    var health: Health
}

/// The one back-off of the daemon: how long the acquisition thread waits before trying a sensor
/// again after it could not be opened or started or a read failed (100 ms, doubling to 10 s).
/// A source that handles its own reconnection (the drivers' resilient reader) reports `lost` and
/// `back` in its reads instead and is never backed off here.
struct Backoff {
    static let firstNs: UInt64 = 100_000_000
    static let maximumNs: UInt64 = 10_000_000_000
    private(set) var nextNs = Backoff.firstNs
    mutating func reset() { nextNs = Backoff.firstNs }
    /// The wait to use now; doubles the next one.
    mutating func take() -> UInt64 {
        defer { nextNs = min(nextNs * 2, Backoff.maximumNs) }
        return nextNs
    }
}

/// The acquisition thread of one sensor. It owns the source (opening it again when needed),
/// whether the sensor is lost, the back-off and the rate measurement; it shares nothing with the
/// detector thread but the two rings.
final class Acquisition: @unchecked Sendable {
    let ring: SPSCRing<AcquiredSample>
    /// Health changes, in order with the samples (see ``HealthMessage/position``).
    let health: SPSCRing<HealthMessage>
    let sensor: SensorConfiguration
    private let stopFlag = Atomic<Bool>(false)
    private var thread: JoinableThread?
    private let realtimePriority: Int32?
    private let open: @Sendable () throws(SourceError) -> any SampleSource

    init(
        sensor: SensorConfiguration, ringCapacity: Int, realtimePriority: Int32?,
        open: @escaping @Sendable () throws(SourceError) -> any SampleSource
    ) {
        self.sensor = sensor
        self.ring = SPSCRing(minimumCapacity: ringCapacity)
        self.health = SPSCRing(minimumCapacity: 256)
        self.realtimePriority = realtimePriority
        self.open = open
    }

    /// Starts the thread with `source` already opened, or with the error opening it gave (the
    /// sensor is then reported lost and opened again after the back-off).
    func start(source: Result<any SampleSource, SourceError>) {
        nonisolated(unsafe) let source = source
        thread = JoinableThread(name: "acq-\(sensor.location)") { [self] in
            var state = ThreadState(self)
            state.run(source)
        }
    }

    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        thread?.join()
        thread = nil
    }

    var stopping: Bool { stopFlag.load(ordering: .relaxed) }

    func reopen() throws(SourceError) -> any SampleSource { try open() }

    /// Everything the acquisition thread keeps, on its own stack.
    private struct ThreadState {
        let a: Acquisition
        /// Samples pushed so far (the position of the next health message).
        var pushed = 0
        /// Samples the source delivered so far (pushed or refused by a full ring).
        var delivered = 0
        /// Reported lost and not yet back.
        var lost = false
        var backoff = Backoff()
        /// Health not yet accepted by a full health ring, in order; lost samples are summed.
        var outbox: [Health] = []
        var pendingChipLost = 0
        var pendingRingLost = 0
        /// Rate measurement window.
        var windowStartNs: UInt64 = 0
        var windowStartCount = 0

        init(_ a: Acquisition) {
            self.a = a
            outbox.reserveCapacity(16)
        }

        mutating func send(_ h: Health) {
            // While the ring is full (the detector thread stuck), a newer rate replaces an older
            // one waiting: the outbox stays small.
            if case .rate = h, let last = outbox.last, case .rate = last {
                outbox[outbox.count - 1] = h
            } else {
                outbox.append(h)
            }
            flush()
        }

        /// Pushes what waits; returns whether everything went (samples may follow then).
        @discardableResult
        mutating func flush() -> Bool {
            if outbox.isEmpty && pendingChipLost == 0 && pendingRingLost == 0 { return true }
            let now = monotonicNow()
            var sent = 0
            for h in outbox {
                guard a.health.push(HealthMessage(position: pushed, monotonicNs: now, health: h)) else {
                    break
                }
                sent += 1
            }
            outbox.removeFirst(sent)
            guard outbox.isEmpty else { return false }
            if pendingChipLost > 0 {
                let m = HealthMessage(
                    position: pushed, monotonicNs: now, health: .samplesLost(pendingChipLost, ring: false))
                guard a.health.push(m) else { return false }
                pendingChipLost = 0
            }
            if pendingRingLost > 0 {
                let m = HealthMessage(
                    position: pushed, monotonicNs: now, health: .samplesLost(pendingRingLost, ring: true))
                guard a.health.push(m) else { return false }
                pendingRingLost = 0
            }
            return true
        }

        mutating func markLost(_ reason: String) {
            if lost { return }
            lost = true
            send(.lost(reason: reason))
        }

        mutating func markBack() {
            if !lost { return }
            lost = false
            send(.back)
        }

        /// Waits `backoff`, waking regularly to notice a stop.
        mutating func wait() {
            let ns = backoff.take()
            var slept: UInt64 = 0
            while slept < ns && !a.stopping {
                sleepNanoseconds(50_000_000)
                slept += 50_000_000
                // Still alive while waiting: the rate (zero) keeps coming once a second.
                measureRate()
            }
        }

        mutating func run(_ initial: Result<any SampleSource, SourceError>) {
            // No I/O here but the bus: everything to log goes to the detector thread.
            if let priority = a.realtimePriority {
                let problem = Realtime.setFIFO(priority: priority)
                send(
                    .note(
                        problem.map { "real-time priority \(priority) not set: \($0)" }
                            ?? "acquisition runs at SCHED_FIFO priority \(priority)", warning: problem != nil)
                )
            }
            let buffer = UnsafeMutableBufferPointer<AcquiredSample>.allocate(capacity: 512)
            defer { buffer.deallocate() }
            var source: (any SampleSource)?
            switch initial {
            case .success(let s): source = s
            case .failure(let e):
                markLost(e.description)
                wait()
            }
            var started = false
            while !a.stopping {
                flush()
                guard let s = source else {
                    do {
                        source = try a.reopen()
                    } catch {
                        markLost(error.description)
                        wait()
                    }
                    continue
                }
                do {
                    if !started {
                        try s.start()
                        started = true
                        send(.started(rate: s.sampleRate, note: nil))
                    }
                    let r = try s.read(into: buffer)
                    // Once a second, also while the source reports itself lost: the rate is the
                    // acquisition thread's sign of life (the watchdog needs it).
                    defer { measureRate() }
                    pendingChipLost += r.lost
                    if let note = r.note { send(.started(rate: s.sampleRate, note: note)) }
                    switch r.health {
                    case .lost(let reason)?:
                        // The source reconnects on its own; it says when it is back.
                        markLost(reason)
                        continue
                    case .back?:
                        markBack()
                    case nil:
                        if lost && r.count == 0 { continue }
                    }
                    if r.count > 0 {
                        // Samples again after a failed read: back.
                        markBack()
                        push(UnsafeBufferPointer(rebasing: buffer[0..<r.count]))
                    }
                    backoff.reset()
                } catch {
                    markLost(error.description)
                    s.standby()
                    started = false
                    // A transient error retries the same source; any other opens it again.
                    if !error.isTransient { source = nil }
                    wait()
                }
            }
            source?.standby()
            flush()
        }

        mutating func push(_ samples: UnsafeBufferPointer<AcquiredSample>) {
            // Health first: a sample never overtakes a change that came before it.
            var taken = 0
            delivered += samples.count
            if flush() {
                taken = a.ring.push(contentsOf: samples)
                pushed += taken
            }
            if taken < samples.count { pendingRingLost += samples.count - taken }
        }

        /// Sends the rate delivered over the last second, once a second.
        mutating func measureRate() {
            let now = monotonicNow()
            if windowStartNs == 0 {
                windowStartNs = now
                windowStartCount = delivered
            } else if now &- windowStartNs >= 1_000_000_000 {
                let hz = Double(delivered - windowStartCount) / (Double(now &- windowStartNs) / 1e9)
                windowStartNs = now
                windowStartCount = delivered
                send(.rate(hz))
            }
        }
    }
}
