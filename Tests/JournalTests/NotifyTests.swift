import Foundation
import Glibc
import Testing

@testable import Journal

func text(_ d: TestSocket.Datagram?) -> String? {
    d.map { String(decoding: $0.bytes, as: UTF8.self) }
}

@Suite("sd_notify")
struct NotifyTests {
    @Test("READY, STATUS, RELOADING, STOPPING arrive as systemd expects")
    func messages() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path, name: "notify")
        let n = SystemdNotifier(socketPath: sock.path)
        #expect(n.isEnabled)
        #expect(n.ready(status: "streaming 1 sensor at 800 Hz"))
        #expect(text(sock.receive()) == "READY=1\nSTATUS=streaming 1 sensor at 800 Hz\n")
        #expect(n.status("800 Hz, 3 twitches\nin the last hour"))
        #expect(text(sock.receive()) == "STATUS=800 Hz, 3 twitches in the last hour\n")
        let before = Clocks.monotonicUsec()
        #expect(n.reloading())
        let reload = try #require(text(sock.receive()))
        let after = Clocks.monotonicUsec()
        let lines = reload.split(separator: "\n")
        #expect(lines.first == "RELOADING=1")
        let mono = try #require(
            lines.first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst(15)) })
        #expect(mono >= before && mono <= after)
        #expect(n.ready())
        #expect(text(sock.receive()) == "READY=1\n")
        #expect(n.stopping())
        #expect(text(sock.receive()) == "STOPPING=1\n")
        #expect(n.watchdog())
        #expect(text(sock.receive()) == "WATCHDOG=1\n")
    }

    @Test("an abstract socket (@name) works")
    func abstractSocket() throws {
        let name = "twitchd-test-notify-\(getpid())"
        let sock = try TestSocket(abstractName: name)
        let n = SystemdNotifier(socketPath: "@" + name)
        #expect(n.ready())
        #expect(text(sock.receive()) == "READY=1\n")
    }

    @Test("without NOTIFY_SOCKET everything is a no-op")
    func disabled() {
        let n = SystemdNotifier(socketPath: nil, watchdogUsec: 2_000_000)
        #expect(!n.isEnabled)
        #expect(!n.ready())
        #expect(!n.watchdog())
        #expect(Watchdog(notifier: n) { true } == nil)
        #expect(!SystemdNotifier(socketPath: "").isEnabled)
    }

    @Test("the watchdog interval is half of WATCHDOG_USEC, only for our own pid")
    func watchdogInterval() {
        #expect(SystemdNotifier(socketPath: "/x", watchdogUsec: 20_000_000).watchdogInterval == .seconds(10))
        #expect(
            SystemdNotifier(socketPath: "/x", watchdogUsec: 3_000_000, watchdogPID: getpid()).watchdogInterval
                == .milliseconds(1500))
        #expect(
            SystemdNotifier(socketPath: "/x", watchdogUsec: 3_000_000, watchdogPID: getpid() + 1)
                .watchdogInterval
                == nil)
        #expect(SystemdNotifier(socketPath: "/x", watchdogUsec: nil).watchdogInterval == nil)
        #expect(SystemdNotifier(socketPath: "/x", watchdogUsec: 0).watchdogInterval == nil)
    }

    @Test("fromEnvironment reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID")
    func environment() {
        setenv("NOTIFY_SOCKET", "/run/test/notify", 1)
        setenv("WATCHDOG_USEC", "4000000", 1)
        setenv("WATCHDOG_PID", String(getpid()), 1)
        defer {
            unsetenv("NOTIFY_SOCKET")
            unsetenv("WATCHDOG_USEC")
            unsetenv("WATCHDOG_PID")
        }
        let n = SystemdNotifier.fromEnvironment()
        #expect(n.socketPath == "/run/test/notify")
        #expect(n.watchdogInterval == .seconds(2))
    }

    @Test("WATCHDOG=1 comes at half of WATCHDOG_USEC while healthy, and stops when not")
    func watchdogCadence() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path, name: "notify")
        // WATCHDOG_USEC = 200 ms -> a ping every 100 ms.
        let n = SystemdNotifier(socketPath: sock.path, watchdogUsec: 200_000, watchdogPID: getpid())
        let healthy = HealthFlag()
        let dog = try #require(Watchdog(notifier: n) { healthy.value })
        dog.start()
        var times: [Double] = []
        let start = Date()
        while Date().timeIntervalSince(start) < 1.05 {
            if let d = sock.receive(timeout: 0.3) {
                #expect(text(d) == "WATCHDOG=1\n")
                times.append(Date().timeIntervalSince(start))
            }
        }
        // ~11 pings in 1.05 s (one at start, then every 100 ms); allow scheduling slack.
        #expect(times.count >= 8 && times.count <= 12, "got \(times.count) pings: \(times)")
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 > 0.05 && $0 < 0.25 }, "gaps \(gaps)")
        // Unhealthy: no pings (systemd would restart us).
        healthy.value = false
        _ = sock.receiveAll(quiet: 0.15)
        #expect(sock.receive(timeout: 0.5) == nil)
        healthy.value = true
        #expect(text(sock.receive(timeout: 0.5)) == "WATCHDOG=1\n")
        dog.stop()
        _ = sock.receiveAll(quiet: 0.15)
        #expect(sock.receive(timeout: 0.4) == nil)
        #expect(dog.counts.skipped >= 3)
    }
}

final class HealthFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var _value = true
    var value: Bool {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
}
