import Daemon
import Foundation
import Journal
import JournalOutput
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket standing in for systemd's notification socket.
final class NotifyListener {
    let path: String
    let fd: Int32
    var messages: [(time: Date, text: String)] = []

    init?(path: String) {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 { return nil }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    func pump(_ seconds: Double) {
        let end = Date().addingTimeInterval(seconds)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < end {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 10) <= 0 { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 { messages.append((Date(), String(decoding: buf[0..<n], as: UTF8.self))) }
        }
    }

    func times(of prefix: String) -> [Date] { messages.filter { $0.text.hasPrefix(prefix) }.map(\.time) }
}

@Suite(.serialized) struct NotifyTests {
    @Test func readyStatusWatchdogStopping() throws {
        let dir = temporaryDirectory("notify")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try #require(NotifyListener(path: dir + "/notify.sock"))
        let notifier = JournalNotifier(
            SystemdNotifier(socketPath: listener.path, watchdogUsec: 400_000, watchdogPID: getpid()))
        #expect(notifier.watchdogPingInterval == .milliseconds(200))
        var options = testOptions()
        options.notifier = notifier
        options.statusPeriod = .milliseconds(500)
        let daemon = Daemon(configuration: simConfiguration(dir: dir, speed: 4), options: options)
        try daemon.start()
        listener.pump(2.5)
        daemon.stop()
        listener.pump(0.2)
        let texts = listener.messages.map(\.text)
        let ready = texts.firstIndex { $0.hasPrefix("READY=1") }
        #expect(ready != nil)
        #expect(texts.filter { $0.hasPrefix("READY=1") }.count == 1)
        #expect(texts.contains { $0.contains("STATUS=") && $0.contains("twitches in the last hour") })
        #expect(texts.last?.hasPrefix("STOPPING=1") == true)
        // WATCHDOG every half period (200 ms), give or take the 250 ms supervisor tick.
        let dogs = listener.times(of: "WATCHDOG=1")
        #expect(dogs.count >= 6)
        let gaps = zip(dogs.dropFirst(), dogs).map { $0.timeIntervalSince($1) }
        #expect(gaps.allSatisfy { $0 > 0.15 && $0 < 0.35 })
    }

    @Test func reloadSendsReloadingThenReady() throws {
        let dir = temporaryDirectory("notifyhup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try #require(NotifyListener(path: dir + "/notify.sock"))
        var options = testOptions()
        options.notifier = JournalNotifier(SystemdNotifier(socketPath: listener.path))
        let config = simConfiguration(dir: dir, speed: 4)
        let daemon = Daemon(configuration: config, options: options)
        try daemon.start()
        listener.pump(1.0)
        var changed = config
        changed.sensitivity = .high
        try daemon.reload(changed)
        listener.pump(0.5)
        daemon.stop()
        let texts = listener.messages.map(\.text)
        let reloading = try #require(texts.firstIndex { $0.hasPrefix("RELOADING=1") })
        #expect(texts[reloading].contains("MONOTONIC_USEC="))
        #expect(texts[(reloading + 1)...].contains { $0.hasPrefix("READY=1") })
    }

    @Test func watchdogStopsWhenAcquisitionStalls() throws {
        let dir = temporaryDirectory("stall")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try #require(NotifyListener(path: dir + "/notify.sock"))
        let notifier = JournalNotifier(SystemdNotifier(socketPath: listener.path, watchdogUsec: 200_000))
        var options = testOptions()
        options.notifier = notifier
        options.sourceFactory = { _ in StallingSource() }
        let daemon = Daemon(configuration: simConfiguration(dir: dir), options: options)
        try daemon.start()
        listener.pump(1.0)
        let before = listener.times(of: "WATCHDOG=1").count
        listener.pump(3.0)
        daemon.stop()
        let after = listener.times(of: "WATCHDOG=1").count
        #expect(before > 0)
        // Once reads stopped (after 0.5 s), no more than 2 s of watchdog pings followed.
        #expect(after - before <= 20)
        #expect(listener.times(of: "WATCHDOG=1").last.map { Date().timeIntervalSince($0) > 0.8 } == true)
    }
}

/// Delivers samples for half a second, then blocks (returns nothing) forever: a hung bus.
final class StallingSource: SampleSource {
    let name = "stalling"
    let sampleRate = 100.0
    var began = Date()
    func start() throws(SourceError) { began = Date() }
    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        usleep(10_000)
        guard Date().timeIntervalSince(began) < 0.5 else { return SourceRead(count: 0) }
        buffer[0] = AcquiredSample(monotonicNs: 1, realtimeNs: 1, x: 0, y: 0, z: 1)
        return SourceRead(count: 1)
    }
    func standby() {}
}
