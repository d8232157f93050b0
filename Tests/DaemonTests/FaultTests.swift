import Daemon
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A source scripted by time: samples at 400 Hz, with failures and FIFO losses on cue.
final class ScriptedSource: SampleSource {
    let name = "scripted"
    let sampleRate = 400.0
    let failBetween: ClosedRange<Double>?
    let loseAt: Double?
    var began = Date()
    var index: UInt64 = 0
    var lostReported = false

    init(failBetween: ClosedRange<Double>? = nil, loseAt: Double? = nil) {
        self.failBetween = failBetween
        self.loseAt = loseAt
    }

    func start() throws(SourceError) {
        if index == 0 { began = Date() }
    }

    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        usleep(10_000)
        let t = Date().timeIntervalSince(began)
        if let f = failBetween, f.contains(t) {
            throw SourceError("read 0x08: bus error (errno 5)", transient: true)
        }
        var lost = 0
        if let l = loseAt, t >= l, !lostReported {
            lostReported = true
            lost = 17
        }
        for i in 0..<4 {
            let k = index + UInt64(i)
            buffer[i] = AcquiredSample(
                monotonicNs: 1_000_000_000 + k * 2_500_000, realtimeNs: 1_700_000_000_000_000_000, x: 0, y: 0,
                z: 1)
        }
        index += 4
        return SourceRead(count: 4, lost: lost)
    }

    func standby() {}
}

/// A sink that blocks until released: a stuck output.
final class StuckSink: EventSink {
    let name = "stuck"
    let gate = DispatchSemaphore(value: 0)
    func deliver(_ event: DaemonEvent) { gate.wait() }
}

@Suite(.serialized) struct FaultTests {
    @Test func sensorLostAndBackAreReported() throws {
        let dir = temporaryDirectory("lost")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        options.sourceFactory = { _ in ScriptedSource(failBetween: 0.3...0.8) }
        let daemon = Daemon(configuration: simConfiguration(dir: dir), options: options)
        try daemon.start()
        #expect(waitUntil(5) { collector.all.contains { $0.kind == .sensorBack } })
        daemon.stop()
        let kinds = collector.all.map(\.kind)
        let lost = kinds.firstIndex { if case .sensorLost = $0 { true } else { false } }
        let back = kinds.firstIndex(of: .sensorBack)
        #expect(lost != nil && back != nil && lost! < back!)
        if let lost, case .sensorLost(let detail) = kinds[lost] { #expect(detail.contains("bus error")) }
    }

    @Test func fifoLossesAreReportedNeverSilent() throws {
        let dir = temporaryDirectory("fifo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        options.sourceFactory = { _ in ScriptedSource(loseAt: 0.2) }
        let daemon = Daemon(configuration: simConfiguration(dir: dir), options: options)
        try daemon.start()
        #expect(
            waitUntil(5) { collector.all.contains { $0.kind == .overrun(lostSamples: 17, stage: "chip") } })
        #expect(daemon.summary().samplesLostInChip == 17)
        #expect(daemon.summary().statusLine.contains("17 samples lost"))
        daemon.stop()
    }

    /// A stuck output neither blocks the detector nor the other outputs; its drops are counted.
    @Test func stuckOutputDropsAndCountsWithoutBlocking() throws {
        let dir = temporaryDirectory("stuck")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        let stuck = StuckSink()
        var options = testOptions(extra: [stuck, collector.sink])
        options.sinkQueueCapacity = 4
        let daemon = Daemon(configuration: simConfiguration(dir: dir, speed: 10), options: options)
        try daemon.start()
        #expect(waitUntil(10) { collector.count >= 12 })
        let summary = daemon.summary()
        #expect(summary.eventsDroppedInOutputs >= collector.count - 5)
        #expect(summary.samplesDroppedInRing == 0)
        let seqs = liveEvents(collector.all).map(\.seq)
        #expect(seqs == Array(1...UInt64(seqs.count)))
        // Release the stuck sink so shutdown can flush it.
        for _ in 0..<100 { stuck.gate.signal() }
        daemon.stop()
    }
}

/// A source that handles its own reconnection (like the drivers' resilient wrapper) and reports
/// health in its results instead of throwing.
final class SelfHealingSource: SampleSource {
    let name = "self-healing"
    let sampleRate = 400.0
    var began = Date()
    var index: UInt64 = 0
    var state = 0  // 0 streaming, 1 lost, 2 back

    func start() throws(SourceError) { began = Date() }

    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        usleep(10_000)
        let t = Date().timeIntervalSince(began)
        if t > 0.3 && state == 0 {
            state = 1
            return SourceRead(count: 0, health: .lost(reason: "stalled: no data-ready for 250 ms"))
        }
        if state == 1 && t < 0.8 { return SourceRead(count: 0) }
        var health: SourceRead.Health?
        var lost = 0
        if state == 1 {
            state = 2
            health = .back
            lost = 200
        }
        for i in 0..<4 {
            buffer[i] = AcquiredSample(
                monotonicNs: 1_000_000_000 + (index + UInt64(i)) * 2_500_000, realtimeNs: 0, x: 0, y: 0, z: 1)
        }
        index += 4
        return SourceRead(count: 4, lost: lost, health: health)
    }

    func standby() {}
}

@Suite struct SelfHealingTests {
    @Test func healthReportedBySourceBecomesLostAndBackEvents() throws {
        let dir = temporaryDirectory("heal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        options.sourceFactory = { _ in SelfHealingSource() }
        let daemon = Daemon(configuration: simConfiguration(dir: dir), options: options)
        try daemon.start()
        #expect(waitUntil(5) { collector.all.contains { $0.kind == .sensorBack } })
        #expect(
            waitUntil(3) { collector.all.contains { $0.kind == .overrun(lostSamples: 200, stage: "chip") } })
        daemon.stop()
        let kinds = collector.all.map(\.kind)
        #expect(kinds.contains(.sensorLost(detail: "stalled: no data-ready for 250 ms")))
        #expect(kinds.filter { if case .sensorLost = $0 { true } else { false } }.count == 1)
    }
}

/// Streams flat samples, reports itself lost, then back with a jolt in the very first samples
/// after it: the jolt's twitch can only be placed after `back` if health travels in order with
/// the samples.
final class JoltAfterOutageSource: SampleSource {
    let name = "jolt"
    let sampleRate = 400.0
    var reads = 0
    var index: UInt64 = 0

    func start() throws(SourceError) {}

    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        usleep(5_000)
        reads += 1
        switch reads {
        case 20: return SourceRead(count: 0, health: .lost(reason: "stalled"))
        case 21..<40: return SourceRead(count: 0)
        default: break
        }
        for i in 0..<4 {
            let jolt = reads == 40 && i == 0
            buffer[i] = AcquiredSample(
                monotonicNs: 1_000_000_000 + (index + UInt64(i)) * 2_500_000, realtimeNs: 0,
                x: jolt ? 0.5 : 0,
                y: 0, z: 1)
        }
        index += 4
        return SourceRead(count: 4, health: reads == 40 ? .back : nil)
    }

    func standby() {}
}

@Suite struct HealthOrderTests {
    @Test func healthIsPlacedBetweenTheSamplesItCameBetween() throws {
        let dir = temporaryDirectory("order")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        options.sourceFactory = { _ in JoltAfterOutageSource() }
        // A slow detector thread: lost, back and the jolt all wait in the rings for one drain.
        options.detectorPeriod = .milliseconds(500)
        let daemon = Daemon(configuration: simConfiguration(dir: dir), options: options)
        try daemon.start()
        #expect(waitUntil(5) { collector.twitches.count >= 1 })
        daemon.stop()
        let kinds = liveEvents(collector.all).map(\.kind)
        let lost = kinds.firstIndex { if case .sensorLost = $0 { true } else { false } }
        let back = kinds.firstIndex(of: .sensorBack)
        let twitch = kinds.firstIndex { if case .twitch = $0 { true } else { false } }
        #expect(lost != nil && back != nil && twitch != nil)
        if let lost, let back, let twitch {
            #expect(lost < back)
            #expect(back < twitch)
        }
    }
}
