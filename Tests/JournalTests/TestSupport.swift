// Helpers for the Journal tests: a datagram socket to receive on, temporary directories, waiting.

import Foundation
import Glibc

@testable import Journal

/// A bound `AF_UNIX` datagram socket in a temporary directory that records what is sent to it,
/// including file descriptors passed with SCM_RIGHTS.
final class TestSocket {
    let path: String
    let fd: Int32

    struct Datagram {
        var bytes: [UInt8]
        var fds: [Int32]
    }

    init(directory: String, name: String = "socket", receiveBuffer: Int32? = nil) throws {
        path = directory + "/" + name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(errno, "socket") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        guard let address = UnixAddress(path: path) else { throw SystemError(ENAMETOOLONG, path) }
        let rc = address.withSockaddr { bind(fd, $0, $1) }
        guard rc == 0 else { throw SystemError(errno, "bind \(path)") }
    }

    /// An abstract-namespace socket (`@name`).
    init(abstractName: String) throws {
        path = "@" + abstractName
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(errno, "socket") }
        guard let address = UnixAddress(path: path) else { throw SystemError(ENAMETOOLONG, path) }
        let rc = address.withSockaddr { bind(fd, $0, $1) }
        guard rc == 0 else { throw SystemError(errno, "bind \(path)") }
    }

    deinit { close(fd) }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: Double = 2) -> Datagram? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return nil }
        let capacity = 4 << 20
        var buffer = [UInt8](repeating: 0, count: capacity)
        let controlSize = 256
        let control = UnsafeMutableRawPointer.allocate(byteCount: controlSize, alignment: 8)
        defer { control.deallocate() }
        var received = 0
        var controlLength = 0
        buffer.withUnsafeMutableBytes { raw in
            var iov = iovec(iov_base: raw.baseAddress, iov_len: capacity)
            withUnsafeMutablePointer(to: &iov) { iovp in
                var msg = msghdr()
                msg.msg_iov = iovp
                msg.msg_iovlen = 1
                msg.msg_control = control
                msg.msg_controllen = controlSize
                received = recvmsg(fd, &msg, Int32(MSG_CMSG_CLOEXEC))
                controlLength = Int(msg.msg_controllen)
            }
        }
        guard received >= 0 else { return nil }
        var fds: [Int32] = []
        // Walk the control messages (CMSG_FIRSTHDR/CMSG_NXTHDR by hand).
        let align = MemoryLayout<Int>.size
        func cmsgAlign(_ n: Int) -> Int { (n + align - 1) & ~(align - 1) }
        var offset = 0
        while offset + MemoryLayout<cmsghdr>.size <= controlLength {
            let header = control.advanced(by: offset).load(as: cmsghdr.self)
            let headerSize = cmsgAlign(MemoryLayout<cmsghdr>.size)
            if header.cmsg_level == SOL_SOCKET && header.cmsg_type == Int32(SCM_RIGHTS) {
                let count = (Int(header.cmsg_len) - headerSize) / MemoryLayout<Int32>.size
                for i in 0..<count {
                    fds.append(
                        control.advanced(by: offset + headerSize + i * 4).loadUnaligned(as: Int32.self))
                }
            }
            offset += cmsgAlign(Int(header.cmsg_len))
            if header.cmsg_len == 0 { break }
        }
        return Datagram(bytes: Array(buffer.prefix(received)), fds: fds)
    }

    /// Every datagram that arrives until `quiet` seconds pass without one.
    func receiveAll(quiet: Double = 0.3) -> [Datagram] {
        var out: [Datagram] = []
        while let d = receive(timeout: quiet) { out.append(d) }
        return out
    }
}

/// A fresh temporary directory, removed by `remove()`.
struct TempDir {
    let path: String

    init(_ prefix: String = "twitchd-journal-test") throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buf -> String? in
            guard let base = buf.baseAddress, let p = mkdtemp(base) else { return nil }
            return String(cString: p)
        }
        guard let made else { throw SystemError(errno, "mkdtemp") }
        path = made
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns its last value.
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// All of a file's bytes through its descriptor (from offset 0).
func readAll(fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    var offset: off_t = 0
    while true {
        let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 65536, offset) }
        if n <= 0 { break }
        out.append(contentsOf: chunk.prefix(n))
        offset += off_t(n)
    }
    return out
}
