import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Serves events as JSON lines on a local stream socket to any number of clients.
///
/// One thread runs a `poll` loop over the listening socket, a wake-up pipe and the clients. Each
/// client has a bounded output buffer; writes are non-blocking. A client whose buffer overflows
/// (slow or stuck) is disconnected, so it can never delay the daemon or the other clients.
///
/// Clients only read. Against a group member who abuses the socket:
/// - a client that writes anything is disconnected at once (its bytes are never processed);
/// - at most ``acceptBurst`` connections are accepted per ``acceptWindowMs``: a connect/close
///   loop waits in the kernel's backlog instead of costing the daemon a wake-up each;
/// - no user (peer uid, `SO_PEERCRED`) holds more than ``maxClientsPerUser`` connections, and
///   when all ``maxClients`` are taken a new client evicts the oldest connection of the user who
///   holds the most, so a full house never locks a new client out.
public final class EventSocketServer: EventSink {
    public let name = "event-socket"
    public let path: String
    /// Bytes a client may have waiting before it is dropped.
    public let clientBufferLimit: Int
    /// Clients served at once; beyond that a new client evicts the oldest of the busiest user.
    public let maxClients: Int
    /// Connections one user (uid) may hold; a further one evicts that user's oldest.
    public let maxClientsPerUser: Int
    /// Connections accepted per ``acceptWindowMs`` at most.
    public static let acceptBurst = 16
    public static let acceptWindowMs: UInt64 = 100
    private let listenFD: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private struct Shared {
        var pending: [[UInt8]] = []
        var stopping = false
    }
    private let shared = Locked(Shared())
    private let clientCount = Atomic<Int>(0)
    private let droppedClientCount = Atomic<Int>(0)
    private let droppedLineCount = Atomic<Int>(0)
    private let thread = Locked<JoinableThread?>(nil)
    private let log: @Sendable (String) -> Void

    /// An error setting up the socket.
    public struct SetupError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Binds `path` (replacing a stale socket), mode 0660, and starts serving. `path` must be a
    /// file-system path: an empty one, or `@name` (Linux's abstract namespace, which has no
    /// permissions: any local user could connect), is refused.
    public init(
        path: String, clientBufferLimit: Int = 256 * 1024, maxClients: Int = 64,
        maxClientsPerUser: Int = 32, log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(SetupError) {
        guard !path.isEmpty else {
            throw SetupError(description: "the event socket path is empty (use \"none\" for no socket)")
        }
        guard !path.hasPrefix("@"), !path.utf8.contains(0) else {
            throw SetupError(
                description:
                    "\(path): an abstract socket has no permissions (any local user could read it); use a file path"
            )
        }
        self.path = path
        self.clientBufferLimit = clientBufferLimit
        self.maxClients = max(1, maxClients)
        self.maxClientsPerUser = max(1, min(maxClientsPerUser, maxClients))
        self.log = log
        let dir = Paths.directory(of: path)
        if !dir.isEmpty {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SetupError(description: "socket: \(String(cString: strerror(errno)))") }
        var st = stat()
        if lstat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFSOCK {
                // A live socket belongs to another daemon: never steal it. A dead one is stale.
                if let (live, _) = TailClient(candidates: [path]).connectOnce() {
                    Glibc.close(live)
                    Glibc.close(fd)
                    throw SetupError(description: "\(path) is in use by another twitchd")
                }
                unlink(path)
            } else {
                Glibc.close(fd)
                throw SetupError(description: "\(path) exists and is not a socket")
            }
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            Glibc.close(fd)
            throw SetupError(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        // The socket file gets the umask's mode at bind; it becomes 0660 before listen, and until
        // listen every connect is refused, so nobody gets in under the first mode. (Not a umask
        // around bind: the umask is process-wide, and other threads create files meanwhile.)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let e = errno
            Glibc.close(fd)
            throw SetupError(description: "bind \(path): \(String(cString: strerror(e)))")
        }
        guard chmod(path, 0o660) == 0 else {
            let e = errno
            Glibc.close(fd)
            unlink(path)
            throw SetupError(description: "chmod \(path): \(String(cString: strerror(e)))")
        }
        guard listen(fd, 16) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw SetupError(description: "listen \(path): \(String(cString: strerror(e)))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            Glibc.close(fd)
            throw SetupError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        for p in fds {
            _ = fcntl(p, F_SETFL, fcntl(p, F_GETFL) | O_NONBLOCK)
            _ = fcntl(p, F_SETFD, FD_CLOEXEC)
        }
        listenFD = fd
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let t = JoinableThread(name: "event-socket") { [self] in serve() }
        thread.withLock { $0 = t }
    }

    /// Clients connected now.
    public var clients: Int { clientCount.load(ordering: .relaxed) }
    /// Clients disconnected because they did not keep up, wrote to the socket, or were evicted.
    public var droppedClients: Int { droppedClientCount.load(ordering: .relaxed) }
    /// Lines not queued because the server thread fell 4096 lines behind (never expected).
    public var droppedLines: Int { droppedLineCount.load(ordering: .relaxed) }

    public func deliver(_ event: DaemonEvent) {
        publish(line: event.jsonLine)
    }

    /// Queues one line (a newline is appended) for every connected client.
    public func publish(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        let accepted = shared.withLock { s -> Bool in
            guard s.pending.count < 4096 else { return false }
            s.pending.append(bytes)
            return true
        }
        if !accepted { droppedLineCount.add(1, ordering: .relaxed) }
        poke()
    }

    private func poke() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
    }

    /// Stops serving: sends what is queued (briefly), closes all clients and removes the socket.
    public func close() {
        shared.withLock { $0.stopping = true }
        poke()
        let t = thread.withLock { t -> JoinableThread? in
            defer { t = nil }
            return t
        }
        t?.join()
    }

    private struct Client {
        var fd: Int32
        var uid: UInt32
        /// Order of arrival (for evicting the oldest).
        var serial: UInt64
        var buffer: [UInt8] = []
        var offset = 0
        var waiting: Int { buffer.count - offset }
    }

    private func serve() {
        var clients: [Client] = []
        var pollFDs: [pollfd] = []
        var scratch = [UInt8](repeating: 0, count: 512)
        var stopDeadline: UInt64?
        var keep: [Bool] = []
        var serial: UInt64 = 0
        var windowStart: UInt64 = 0
        var acceptedInWindow = 0
        var lastAbuseLog: UInt64 = 0
        var abuseSinceLog = 0
        defer {
            for c in clients { Glibc.close(c.fd) }
            clientCount.store(0, ordering: .relaxed)
            Glibc.close(listenFD)
            Glibc.close(wakeRead)
            Glibc.close(wakeWrite)
            unlink(path)
        }
        while true {
            pollFDs.removeAll(keepingCapacity: true)
            // Accepting is paused for the rest of the window once its burst is used up.
            let now = monotonicNow()
            if now &- windowStart >= Self.acceptWindowMs * 1_000_000 {
                windowStart = now
                acceptedInWindow = 0
            }
            let accepting = acceptedInWindow < Self.acceptBurst
            pollFDs.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            pollFDs.append(pollfd(fd: accepting ? listenFD : -1, events: Int16(POLLIN), revents: 0))
            for c in clients {
                var ev = Int16(POLLIN)
                if c.waiting > 0 { ev |= Int16(POLLOUT) }
                pollFDs.append(pollfd(fd: c.fd, events: ev, revents: 0))
            }
            var timeout: Int32 = stopDeadline == nil ? 1000 : 20
            if !accepting {
                let left = (windowStart &+ Self.acceptWindowMs * 1_000_000) &- now
                timeout = min(timeout, Int32(clamping: left / 1_000_000 + 1))
            }
            _ = poll(&pollFDs, nfds_t(pollFDs.count), timeout)

            if pollFDs[0].revents != 0 {
                while read(wakeRead, &scratch, scratch.count) > 0 {}
            }
            let (lines, stopping) = shared.withLock { s -> ([[UInt8]], Bool) in
                let l = s.pending
                s.pending.removeAll(keepingCapacity: true)
                return (l, s.stopping)
            }
            if stopping && stopDeadline == nil { stopDeadline = monotonicNow() + 200_000_000 }

            // Existing clients' readiness (indices 2...).
            keep.removeAll(keepingCapacity: true)
            keep.append(contentsOf: repeatElement(true, count: clients.count))
            for i in clients.indices {
                let re = pollFDs[i + 2].revents
                if re & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                    keep[i] = false
                    continue
                }
                if re & Int16(POLLIN) != 0 {
                    // Clients only read: a close shows as end of file; anything written is abuse
                    // (or a confused program) and ends the connection without being processed.
                    let n = recv(clients[i].fd, &scratch, 1, Int32(MSG_DONTWAIT))
                    if n > 0 {
                        keep[i] = false
                        droppedClientCount.add(1, ordering: .relaxed)
                        abuseSinceLog += 1
                    } else if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                        keep[i] = false
                    }
                }
            }
            // New lines for everyone.
            for i in clients.indices where keep[i] {
                for line in lines { clients[i].buffer.append(contentsOf: line) }
            }
            // Write what each socket takes now.
            for i in clients.indices where keep[i] && clients[i].waiting > 0 {
                let c = clients[i]
                let n = c.buffer.withUnsafeBytes { raw in
                    send(
                        c.fd, raw.baseAddress.map { $0 + c.offset }, c.waiting,
                        Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                }
                if n > 0 {
                    clients[i].offset += n
                    if clients[i].offset == clients[i].buffer.count {
                        clients[i].buffer.removeAll(keepingCapacity: true)
                        clients[i].offset = 0
                    } else if clients[i].offset > 65536 {
                        clients[i].buffer.removeFirst(clients[i].offset)
                        clients[i].offset = 0
                    }
                } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    keep[i] = false
                }
            }
            // Whoever still has more waiting than allowed is not keeping up: drop it.
            for i in clients.indices where keep[i] && clients[i].waiting > clientBufferLimit {
                keep[i] = false
                droppedClientCount.add(1, ordering: .relaxed)
                log(
                    "event socket: dropped a client that is not reading (\(clients[i].waiting) bytes waiting)"
                )
            }
            if keep.contains(false) {
                var write = 0
                for i in clients.indices {
                    if keep[i] {
                        clients[write] = clients[i]
                        write += 1
                    } else {
                        Glibc.close(clients[i].fd)
                    }
                }
                clients.removeLast(clients.count - write)
            }
            if abuseSinceLog > 0 && now &- lastAbuseLog >= 60_000_000_000 {
                log("event socket: dropped \(abuseSinceLog) client(s) that wrote to it (clients only read)")
                abuseSinceLog = 0
                lastAbuseLog = now
            }
            // New connections (after distributing, so they start with the next event).
            if accepting && pollFDs[1].revents & Int16(POLLIN) != 0 && !stopping {
                while acceptedInWindow < Self.acceptBurst {
                    let fd = accept(listenFD, nil, nil)
                    if fd < 0 { break }
                    acceptedInWindow += 1
                    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    serial &+= 1
                    let uid = peerUID(fd)
                    if let victim = evictionVictim(clients, newUID: uid) {
                        Glibc.close(clients[victim].fd)
                        clients.remove(at: victim)
                        droppedClientCount.add(1, ordering: .relaxed)
                    }
                    clients.append(Client(fd: fd, uid: uid, serial: serial))
                }
            }
            clientCount.store(clients.count, ordering: .relaxed)
            if let deadline = stopDeadline {
                let flushed = clients.allSatisfy { $0.waiting == 0 }
                if flushed || monotonicNow() >= deadline { return }
            }
        }
    }

    /// Which client must go to make room for a new one from `newUID`: that user's oldest when it
    /// is at its own limit; when the house is full, the oldest of whoever holds the most
    /// connections. Nil when there is room.
    private func evictionVictim(_ clients: [Client], newUID: UInt32) -> Int? {
        var perUID: [UInt32: Int] = [:]
        for c in clients { perUID[c.uid, default: 0] += 1 }
        var target: UInt32?
        if perUID[newUID, default: 0] >= maxClientsPerUser {
            target = newUID
        } else if clients.count >= maxClients {
            target = perUID.max { a, b in a.value < b.value || (a.value == b.value && a.key > b.key) }?.key
        }
        guard let target else { return nil }
        var oldest: Int?
        for i in clients.indices where clients[i].uid == target {
            if let o = oldest, clients[o].serial <= clients[i].serial { continue }
            oldest = i
        }
        return oldest
    }
}

/// The uid of the process at the other end of a connected `AF_UNIX` socket (`SO_PEERCRED`);
/// `UInt32.max` when unknown.
private func peerUID(_ fd: Int32) -> UInt32 {
    // `struct ucred` (pid, uid, gid): Glibc hides it behind _GNU_SOURCE; the layout is the
    // kernel's ABI.
    struct PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = UInt32.max
        var gid: UInt32 = UInt32.max
    }
    var cred = PeerCredentials()
    var length = socklen_t(MemoryLayout<PeerCredentials>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0 else { return UInt32.max }
    return cred.uid
}
