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
public struct SourceError: Error, Sendable, CustomStringConvertible {
    public var description: String
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

/// The acquisition thread of one sensor and the counters it shares (atomically) with the rest.
final class Acquisition: @unchecked Sendable {
    let ring: SPSCRing<AcquiredSample>
    let sensor: SensorConfiguration
    /// Samples the ring refused (detector behind).
    let ringDropped = Atomic<Int>(0)
    /// Samples the source reported lost.
    let chipLost = Atomic<Int>(0)
    /// Samples pushed into the ring.
    let acquired = Atomic<Int>(0)
    /// Monotonic ns of the last successful read (0 before the first).
    let lastReadNs = Atomic<UInt64>(0)
    /// Number of failures so far (the detector thread turns changes into lost/back events).
    let failures = Atomic<Int>(0)
    /// 1 while the source is failing.
    let failing = Atomic<Int>(0)
    let streaming = Atomic<Bool>(false)
    private let stopFlag = Atomic<Bool>(false)
    private let lastError = Mutex<String>("")
    /// Set once by the thread about its scheduling; taken (and logged) by the detector thread.
    let schedulingNote = Mutex<String?>(nil)
    private var thread: JoinableThread?
    private let realtimePriority: Int32?
    /// The measured/declared rate, set once the source started.
    let rate = Atomic<UInt64>(0)

    init(sensor: SensorConfiguration, ringCapacity: Int, realtimePriority: Int32?) {
        self.sensor = sensor
        self.ring = SPSCRing(minimumCapacity: ringCapacity)
        self.realtimePriority = realtimePriority
    }

    var lastErrorText: String { lastError.withLock { $0 } }

    /// Starts the thread that owns `source` until ``stop()``.
    func start(source: any SampleSource) {
        nonisolated(unsafe) let source = source
        thread = JoinableThread(name: "acq-\(sensor.location)") { [self] in run(source) }
    }

    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        thread?.join()
        thread = nil
    }

    private func run(_ source: any SampleSource) {
        // No I/O here but the bus: problems are left for the detector thread to log.
        if let priority = realtimePriority {
            let problem = Realtime.setFIFO(priority: priority)
            schedulingNote.withLock {
                $0 =
                    problem.map { "real-time priority \(priority) not set: \($0)" }
                    ?? "acquisition runs at SCHED_FIFO priority \(priority)"
            }
        }
        let buffer = UnsafeMutableBufferPointer<AcquiredSample>.allocate(capacity: 512)
        defer { buffer.deallocate() }
        var started = false
        var backoffNs: UInt64 = 100_000_000
        while !stopFlag.load(ordering: .relaxed) {
            do {
                if !started {
                    try source.start()
                    started = true
                    rate.store(UInt64(source.sampleRate * 1000), ordering: .relaxed)
                }
                let r = try source.read(into: buffer)
                if r.lost > 0 { chipLost.add(r.lost, ordering: .relaxed) }
                if let note = r.note {
                    // e.g. the driver connected and chose the chip's nearest supported rate.
                    schedulingNote.withLock { $0 = note }
                    rate.store(UInt64(source.sampleRate * 1000), ordering: .relaxed)
                }
                switch r.health {
                case .lost(let reason):
                    lastError.withLock { $0 = reason }
                    if failing.load(ordering: .relaxed) == 0 {
                        failures.add(1, ordering: .relaxed)
                        failing.store(1, ordering: .relaxed)
                    }
                    continue
                case .back:
                    failing.store(0, ordering: .relaxed)
                case nil:
                    // A source that reports health itself stays failing until it says `back`.
                    if failing.load(ordering: .relaxed) != 0 && r.count == 0 { continue }
                }
                if r.count > 0 {
                    let pushed = ring.push(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<r.count]))
                    if pushed < r.count { ringDropped.add(r.count - pushed, ordering: .relaxed) }
                    acquired.add(pushed, ordering: .relaxed)
                    lastReadNs.store(monotonicNow(), ordering: .relaxed)
                    if !streaming.load(ordering: .relaxed) { streaming.store(true, ordering: .relaxed) }
                }
                if failing.load(ordering: .relaxed) != 0 { failing.store(0, ordering: .relaxed) }
                backoffNs = 100_000_000
            } catch {
                lastError.withLock { $0 = error.description }
                if failing.load(ordering: .relaxed) == 0 {
                    failures.add(1, ordering: .relaxed)
                    failing.store(1, ordering: .relaxed)
                }
                started = false
                source.standby()
                // Back off, waking regularly to notice a stop.
                var slept: UInt64 = 0
                while slept < backoffNs && !stopFlag.load(ordering: .relaxed) {
                    sleepNanoseconds(50_000_000)
                    slept += 50_000_000
                }
                backoffNs = min(backoffNs * 2, 5_000_000_000)
            }
        }
        source.standby()
        streaming.store(false, ordering: .relaxed)
    }
}
