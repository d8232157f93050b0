#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Connects to the daemon's event socket and hands over each JSON line; reconnects with a short
/// backoff when the daemon goes away or is not there yet.
public final class TailClient {
    public let candidates: [String]
    /// Called with notes for the user (waiting, reconnected).
    public var note: (String) -> Void = { _ in }
    /// Longest line accepted from the socket.
    public static let maxLineBytes = 1 << 20
    /// Longest wait between connection attempts.
    public var maxBackoff: Duration = .seconds(2)

    /// Tries `candidates` in order on each attempt.
    public init(candidates: [String]) {
        self.candidates = candidates
    }

    /// The candidate whose connection was refused with EACCES or EPERM on the last attempt:
    /// the socket exists but this user may not use it (not in its group). Nil otherwise.
    public private(set) var permissionDenied: String?

    /// How ``run(shouldStop:onLine:)`` ended.
    public enum Outcome: Equatable, Sendable {
        /// `shouldStop` or `onLine` said so.
        case stopped
        /// The socket at this path exists but this user may not connect to it.
        case permissionDenied(String)
    }

    /// Connects to the first candidate that accepts; returns the fd and path. A candidate that
    /// refuses this user (EACCES, EPERM) ends the search there (``permissionDenied``): falling
    /// back to a later, less protected path could reach a socket someone else put there.
    public func connectOnce() -> (fd: Int32, path: String)? {
        permissionDenied = nil
        for path in candidates {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { return nil }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                Glibc.close(fd)
                continue
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 { return (fd, path) }
            let e = errno
            Glibc.close(fd)
            if e == EACCES || e == EPERM {
                permissionDenied = path
                return nil
            }
        }
        return nil
    }

    /// Runs until `onLine` returns false (e.g. the output pipe closed) or `shouldStop` says so, or
    /// until a socket refuses this user (then it returns ``Outcome/permissionDenied(_:)`` at once:
    /// waiting would not help). `onLine` gets each line without its newline.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }, onLine: (String) -> Bool) -> Outcome {
        var backoffMs = 100
        var everConnected = false
        var waitingNoted = false
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !shouldStop() {
            guard let (fd, path) = connectOnce() else {
                if let denied = permissionDenied { return .permissionDenied(denied) }
                if !waitingNoted {
                    note(
                        everConnected
                            ? "daemon gone; reconnecting..."
                            : "waiting for the daemon at \(candidates.joined(separator: " or "))...")
                    waitingNoted = true
                }
                sleepNanoseconds(UInt64(backoffMs) * 1_000_000)
                let maxMs = Int(maxBackoff.components.seconds * 1000)
                backoffMs = min(backoffMs * 2, max(maxMs, 100))
                continue
            }
            if waitingNoted || everConnected { note("connected to \(path)") }
            everConnected = true
            waitingNoted = false
            backoffMs = 100
            buffer.removeAll(keepingCapacity: true)
            reading: while !shouldStop() {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&p, 1, 200)
                if ready == 0 { continue }
                if ready < 0 {
                    if errno == EINTR { continue }
                    break
                }
                let n = recv(fd, &chunk, chunk.count, 0)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    break reading
                }
                buffer.append(contentsOf: chunk[0..<n])
                var start = 0
                while let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[start..<nl], as: UTF8.self)
                    start = nl + 1
                    if !onLine(line) {
                        Glibc.close(fd)
                        return .stopped
                    }
                }
                buffer.removeFirst(start)
                // A line never comes near this; whatever sends more without a newline is not the
                // daemon: drop it rather than grow without bound.
                if buffer.count > Self.maxLineBytes {
                    note("\(path): a line of more than \(Self.maxLineBytes) bytes; reconnecting")
                    break reading
                }
            }
            Glibc.close(fd)
        }
        return .stopped
    }
}
