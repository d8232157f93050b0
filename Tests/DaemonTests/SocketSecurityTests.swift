import Daemon
import Foundation
import Synchronization
import TestSupport
import Testing
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// Whether the server has closed `client`'s connection (end of file) within `seconds`.
func closedByServer(_ client: RawClient, within seconds: Double) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    var byte: UInt8 = 0
    while Date() < end {
        var p = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, 20) > 0 {
            let n = recv(client.fd, &byte, 1, Int32(MSG_DONTWAIT))
            if n == 0 || (n < 0 && errno == ECONNRESET) { return true }
        }
    }
    return false
}

@Suite(.serialized) struct SocketSecurityTests {
    @Test func emptyAndAbstractSocketPathsAreRefused() {
        for path in ["", "@twitchd-events"] {
            #expect(throws: EventSocketServer.SetupError.self) {
                _ = try EventSocketServer(path: path)
            }
        }
    }

    /// The issue's case: `twitchd demo --event-socket ""` bound an abstract socket anyone could read.
    @Test(.enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"))
    func demoWithAnEmptySocketPathRefuses() throws {
        let bin = try requireTwitchd()
        let dir = temporaryDirectory("emptysock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let demo = try Twitchd(
            bin, ["demo", "--event-socket", "", "--duration", "2s"], dir: dir, tag: "demo",
            environment: ["TMPDIR": dir, "STATE_DIRECTORY": dir + "/state"])
        #expect(exitStatus(demo, within: 15) == 73)
        #expect(demo.stderr.contains("the event socket path is empty"))
    }

    /// The socket gets mode 0660 without touching the process umask. The umask is process-wide:
    /// changing it around `bind`, as the server once did, made a file another thread created in
    /// that moment, or a child started then, lose its owner's access (a CI run saw twitchd's
    /// fresh 0700 state directory come out 0600). Another thread watches the umask while servers
    /// start.
    @Test func bindingLeavesTheUmaskAlone() throws {
        let dir = temporaryDirectory("umask")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        @Sendable func currentUmask() -> String? {
            (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
                .split(separator: "\n").first { $0.hasPrefix("Umask:") }.map(String.init)
        }
        let before = try #require(currentUmask())
        let done = Atomic<Bool>(false)
        let seen = Mutex<Set<String>>([])
        let watcher = Thread {
            while !done.load(ordering: .acquiring) {
                if let u = currentUmask() { _ = seen.withLock { $0.insert(u) } }
            }
        }
        watcher.start()
        var modes: Set<UInt32> = []
        for i in 0..<300 {
            let server = try EventSocketServer(path: dir + "/e\(i).sock")
            var st = stat()
            if lstat(server.path, &st) == 0 { modes.insert(UInt32(st.st_mode & 0o777)) }
            server.close()
        }
        done.store(true, ordering: .releasing)
        while !watcher.isFinished { usleep(1000) }
        #expect(modes == [0o660])
        #expect(seen.withLock { $0 } == [before])
    }

    @Test func aClientThatWritesIsDropped() throws {
        let dir = temporaryDirectory("writer")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try EventSocketServer(path: dir + "/events.sock")
        defer { server.close() }
        let writer = try #require(RawClient(path: server.path))
        let reader = try #require(RawClient(path: server.path))
        #expect(waitUntil(2) { server.clients == 2 })
        let garbage = Array("GET / HTTP/1.0\r\n\r\n".utf8)
        _ = garbage.withUnsafeBytes { send(writer.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        #expect(closedByServer(writer, within: 2))
        #expect(server.droppedClients == 1)
        server.publish(line: "{\"type\":\"test\"}")
        reader.pump(0.3)
        #expect(reader.lines == ["{\"type\":\"test\"}"])
    }

    /// A full house of idle connections does not lock a new client out: it evicts the oldest
    /// connection of the user holding the most; one user never holds more than its share.
    @Test func aFullHouseEvictsTheOldestInsteadOfRefusingNewClients() throws {
        let dir = temporaryDirectory("house")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try EventSocketServer(path: dir + "/events.sock", maxClients: 4, maxClientsPerUser: 3)
        defer { server.close() }
        var hogs: [RawClient] = []
        for _ in 0..<3 { hogs.append(try #require(RawClient(path: server.path))) }
        #expect(waitUntil(2) { server.clients == 3 })
        // A fourth connection of the same user: over its share, so its own oldest goes.
        hogs.append(try #require(RawClient(path: server.path)))
        #expect(closedByServer(hogs[0], within: 2))
        #expect(waitUntil(2) { server.clients == 3 })
        let newcomer = try #require(RawClient(path: server.path))
        #expect(closedByServer(hogs[1], within: 2))
        server.publish(line: "{\"type\":\"hello\"}")
        newcomer.pump(0.3)
        #expect(newcomer.lines == ["{\"type\":\"hello\"}"])
        #expect(server.clients == 3)
    }

    /// A connect loop is served in bursts: the server accepts at most `acceptBurst` connections
    /// per window and leaves the rest waiting in the kernel's backlog (17 places), where new
    /// connection attempts are refused at once (EAGAIN) without costing the daemon anything.
    @Test func acceptsAreRateLimited() throws {
        let dir = temporaryDirectory("burst")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try EventSocketServer(
            path: dir + "/events.sock", maxClients: 512, maxClientsPerUser: 512)
        defer { server.close() }
        var clients: [Int32] = []
        defer { for fd in clients { close(fd) } }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in server.path.utf8.enumerated() { raw[i] = b }
        }
        // Connect as fast as possible for 250 ms (at most 400 connections, all kept open).
        let end = Date().addingTimeInterval(0.25)
        while Date() < end && clients.count < 400 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 { clients.append(fd) } else { close(fd) }
        }
        // 250 ms is at most 4 windows of `acceptBurst`, plus what waits in the backlog.
        let windows = Int(250 / EventSocketServer.acceptWindowMs) + 2
        #expect(
            clients.count <= EventSocketServer.acceptBurst * windows + 17,
            "\(clients.count) connections got through")
        #expect(waitUntil(3) { server.clients == clients.count })
    }

    /// `twitchd tail` as a user outside the socket's group: a clear message and exit 77, not a
    /// silent wait or a fall back to another socket.
    @Test(
        .enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"),
        .enabled(
            if: Prerequisite.met(getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0),
            "needs root and setpriv to run tail as another user"))
    func tailSaysPermissionDenied() throws {
        let built = try requireTwitchd()
        try #require(
            getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0,
            "needs root and setpriv to run tail as another user")
        let dir = temporaryDirectory("eacces")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        // uid 65534 runs a copy in the scratch directory: the build directory may not be
        // reachable for it (a checkout under /root is not).
        let bin = dir + "/twitchd"
        try FileManager.default.copyItem(atPath: built, toPath: bin)
        chmod(bin, 0o755)
        let probe = try Twitchd(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", bin, "--help"], dir: dir,
            tag: "probe")
        try #require(exitStatus(probe, within: 10) == 0, "uid 65534 cannot run \(bin): \(probe.stderr)")
        let server = try EventSocketServer(path: dir + "/events.sock")
        defer { server.close() }
        let tail = try Twitchd(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", bin, "tail", "--socket", server.path],
            dir: dir, tag: "tail")
        #expect(exitStatus(tail, within: 5) == 77)
        #expect(
            tail.stderr.contains(
                "twitchd tail: permission denied: \(server.path): add yourself to group twitchd"))
    }

    /// Fields from the socket are printed without terminal control sequences.
    @Test func printedFieldsCarryNoControlSequences() throws {
        let printer = EventPrinter(color: false)
        let forged =
            #"{"type":"sensor-lost","seq":7,"location":"left\u001b]0;owned\u0007calf","#
            + #""detail":"\u001b[2J\u001b[1;1Hfake\r\nline\u009b31m","time_realtime_usec":0}"#
        let line = try #require(printer.line(jsonLine: forged))
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F..<0xA0).contains($0.value) })
        #expect(line.contains("left?]0;owned?calf"))
        #expect(line.contains("fake??line"))
        let twitch =
            #"{"type":"twitch","seq":8,"location":"x\u001b[31m","axis":"z\u0007","onset_realtime_usec":0}"#
        let t = try #require(printer.line(jsonLine: twitch))
        #expect(!t.unicodeScalars.contains { $0.value < 0x20 })
    }

    /// Something that sends without ever ending a line (not the daemon) is dropped after 1 MiB
    /// instead of growing tail's memory without bound.
    @Test func tailDropsAnEndlessLine() throws {
        let dir = temporaryDirectory("endless")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/fake.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0 && listen(listener, 4) == 0)
        let server = Thread {
            let c = accept(listener, nil, nil)
            guard c >= 0 else { return }
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 65536)
            for _ in 0..<32 {
                if chunk.withUnsafeBytes({ send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) < 0 {
                    break
                }
            }
            close(c)
        }
        server.start()
        let client = TailClient(candidates: [path])
        let notes = Mutex<[String]>([])
        client.note = { n in notes.withLock { $0.append(n) } }
        // The loop ends as soon as the note comes; the deadline only bounds a failure. The
        // emulated arm64 run needed more than 10 s to take in the 1 MiB.
        let deadline = Date().addingTimeInterval(120)
        var lines = 0
        client.run(
            shouldStop: {
                Date() > deadline || notes.withLock { $0.contains { $0.contains("a line of more than") } }
            },
            onLine: { _ in
                lines += 1
                return true
            })
        #expect(notes.withLock { $0.contains { $0.contains("a line of more than 1048576 bytes") } })
        #expect(lines == 0)
    }
}
