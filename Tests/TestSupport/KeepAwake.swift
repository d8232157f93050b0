// Shared by the test targets that run a stand-alone journald namespace.

#if canImport(Glibc)
    import Glibc
#endif

/// Connects a stdout stream to namespace journald `name` and leaves it open. A stand-alone
/// namespace journald exits after 30 s without traffic unless a stream is connected (its idle
/// timer; under systemd the socket would start it again, here nothing would). Returns the socket
/// (close it to let journald go idle), or -1 when it cannot connect.
public func keepJournaldAwake(_ name: String) -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return -1 }
    let connected = withUnixAddress("/run/systemd/journal.\(name)/stdout") { connect(fd, $0, $1) } ?? -1
    // The stream header: identifier, unit, priority, level prefix, and no forwarding.
    let header = Array("twitchd-tests\n\n6\n0\n0\n0\n0\n".utf8)
    guard connected == 0, write(fd, header, header.count) == header.count else {
        close(fd)
        return -1
    }
    return fd
}

/// Calls `body` with a `sockaddr_un` for `path`; nil when the path is too long for one.
func withUnixAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
}
