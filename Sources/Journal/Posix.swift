// Small POSIX helpers shared by the journal writer, the spool and sd_notify.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

enum Clocks {
    static func usec(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1000)
    }
    static func realtimeUsec() -> UInt64 { usec(CLOCK_REALTIME) }
    static func monotonicUsec() -> UInt64 { usec(CLOCK_MONOTONIC) }
}

/// The text for an errno value, e.g. `ECONNREFUSED (Connection refused)`.
func errnoDescription(_ code: Int32) -> String {
    let names: [Int32: String] = [
        ENOENT: "ENOENT", ECONNREFUSED: "ECONNREFUSED", EAGAIN: "EAGAIN", ENOBUFS: "ENOBUFS",
        EMSGSIZE: "EMSGSIZE", EACCES: "EACCES", EPERM: "EPERM", ENOTCONN: "ENOTCONN",
        ECONNRESET: "ECONNRESET", EINVAL: "EINVAL", ENOSPC: "ENOSPC", EIO: "EIO", ENOMEM: "ENOMEM",
        ENOTDIR: "ENOTDIR", EROFS: "EROFS", EDQUOT: "EDQUOT",
    ]
    let text = strerror(code).map { String(cString: $0) } ?? "error \(code)"
    if let name = names[code] { return "\(name) (\(text))" }
    return text
}

/// Writes a line to standard error in one call, safe from any thread. When stderr is a socket
/// (under systemd it is a journal stream) the write never blocks: if journald is away and the
/// stream is full, the line is dropped rather than stall the caller.
func writeStderr(_ line: String) {
    var bytes = Array(line.utf8)
    if bytes.last != 0x0A { bytes.append(0x0A) }
    bytes.withUnsafeBytes { raw in
        var off = 0
        var isSocket = true
        while off < raw.count {
            let p = raw.baseAddress.map { $0 + off }
            var n = isSocket ? send(2, p, raw.count - off, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)) : -1
            if isSocket && n < 0 && errno == ENOTSOCK { isSocket = false }
            if !isSocket { n = write(2, p, raw.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            off += n
        }
    }
}

/// An `AF_UNIX` address. A path starting with `@` names the abstract namespace.
struct UnixAddress {
    var storage = sockaddr_un()
    var length: socklen_t = 0

    /// Nil when the path is empty or does not fit in `sun_path`.
    init?(path: String) {
        var bytes = Array(path.utf8)
        guard !bytes.isEmpty else { return nil }
        let abstract = bytes[0] == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        // A filesystem path needs room for its terminating NUL; an abstract name does not.
        guard bytes.count <= (abstract ? capacity : capacity - 1) else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        length = socklen_t(pathOffset + bytes.count + (abstract ? 0 : 1))
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        let len = length
        return withUnsafePointer(to: &copy) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, len) }
        }
    }
}

/// Creates a non-blocking, close-on-exec `AF_UNIX` datagram socket, or returns -1 with errno set.
func makeDatagramSocket() -> Int32 {
    #if canImport(Glibc)
        return socket(
            AF_UNIX,
            Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    #else
        return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)
    #endif
}

/// `sendto` of one datagram without blocking. Returns 0 or an errno value.
func sendDatagram(_ fd: Int32, _ bytes: [UInt8], to address: UnixAddress) -> Int32 {
    while true {
        let n = bytes.withUnsafeBytes { raw in
            address.withSockaddr { sa, len in
                sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, len)
            }
        }
        if n >= 0 { return 0 }
        let e = errno
        if e == EINTR { continue }
        return e
    }
}

// memfd_create(2) and file seals. Swift's Glibc module does not export memfd_create (it is behind
// _GNU_SOURCE), so it is looked up at run time; the constants are the kernel ABI's.
let mfdCloexec: UInt32 = 0x0001
let mfdAllowSealing: UInt32 = 0x0002
let fAddSeals: Int32 = 1024 + 9
let fGetSeals: Int32 = 1024 + 10
let fSealSeal: Int32 = 0x0001
let fSealShrink: Int32 = 0x0002
let fSealGrow: Int32 = 0x0004
let fSealWrite: Int32 = 0x0008

private typealias MemfdCreateFn = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32

private let memfdCreateFunction: MemfdCreateFn? = {
    guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, "memfd_create") else { return nil }
    return unsafeBitCast(sym, to: MemfdCreateFn.self)
}()

/// Writes `bytes` to a new memfd and seals it against any change. Returns the fd, or an errno
/// value on failure.
func makeSealedMemfd(name: String, bytes: [UInt8]) -> Result<Int32, SystemError> {
    guard let create = memfdCreateFunction else { return .failure(SystemError(ENOSYS, "memfd_create")) }
    let fd = create(name, mfdCloexec | mfdAllowSealing)
    guard fd >= 0 else { return .failure(SystemError(errno, "memfd_create")) }
    if let err = writeAll(fd, bytes[...]) {
        close(fd)
        return .failure(SystemError(err, "write memfd"))
    }
    if fcntl(fd, fAddSeals, fSealSeal | fSealShrink | fSealGrow | fSealWrite) < 0 {
        let e = errno
        close(fd)
        return .failure(SystemError(e, "F_ADD_SEALS"))
    }
    return .success(fd)
}

/// Sends one datagram that carries only `fd` (SCM_RIGHTS), without blocking. Returns 0 or errno.
func sendFileDescriptor(_ socketFD: Int32, _ fd: Int32, to address: UnixAddress) -> Int32 {
    // Control message: cmsghdr followed by the int, both aligned to size_t (CMSG_SPACE).
    let align = MemoryLayout<Int>.size
    func cmsgAlign(_ n: Int) -> Int { (n + align - 1) & ~(align - 1) }
    let headerLength = cmsgAlign(MemoryLayout<cmsghdr>.size)
    let space = headerLength + cmsgAlign(MemoryLayout<Int32>.size)
    let control = UnsafeMutableRawPointer.allocate(byteCount: space, alignment: align)
    defer { control.deallocate() }
    control.initializeMemory(as: UInt8.self, repeating: 0, count: space)
    let header = control.bindMemory(to: cmsghdr.self, capacity: 1)
    header.pointee.cmsg_len = .init(headerLength + MemoryLayout<Int32>.size)
    header.pointee.cmsg_level = SOL_SOCKET
    header.pointee.cmsg_type = Int32(SCM_RIGHTS)
    control.advanced(by: headerLength).storeBytes(of: fd, as: Int32.self)

    var copy = address.storage
    return withUnsafeMutablePointer(to: &copy) { addr in
        var msg = msghdr()
        msg.msg_name = UnsafeMutableRawPointer(addr)
        msg.msg_namelen = address.length
        msg.msg_iov = nil
        msg.msg_iovlen = 0
        msg.msg_control = control
        msg.msg_controllen = .init(space)
        while true {
            if sendmsg(socketFD, &msg, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) >= 0 { return 0 }
            let e = errno
            if e != EINTR { return e }
        }
    }
}

/// Writes every byte, retrying on EINTR and short writes. Returns nil or an errno value.
func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Int32? {
    bytes.withUnsafeBytes { raw -> Int32? in
        var off = 0
        while off < raw.count {
            let n = write(fd, raw.baseAddress.map { $0 + off }, raw.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return EIO }
            off += n
        }
        return nil
    }
}

/// Reads exactly `count` bytes at `offset`, or fewer at end of file. Nil on error.
func preadAll(_ fd: Int32, count: Int, offset: Int64) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: count)
    var got = 0
    let ok = out.withUnsafeMutableBytes { raw -> Bool in
        while got < count {
            let n = pread(fd, raw.baseAddress.map { $0 + got }, count - got, off_t(offset) + off_t(got))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { break }
            got += n
        }
        return true
    }
    guard ok else { return nil }
    if got < count { out.removeLast(count - got) }
    return out
}

/// An operating-system error: the errno value and the call that failed.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The errno value.
    public var code: Int32
    /// What was being done, e.g. `open /var/lib/twitchd/journal.spool`.
    public var operation: String

    /// An error `code` (errno) from `operation`.
    public init(_ code: Int32, _ operation: String) {
        self.code = code
        self.operation = operation
    }

    /// E.g. `open /var/lib/twitchd/journal.spool: EACCES (Permission denied)`.
    public var description: String { "\(operation): \(errnoDescription(code))" }
}

/// A background thread that calls `tick` after `intervalMs`, then after however many milliseconds
/// `tick` returns, until stopped; `stop()` wakes it at once and waits for it to finish.
final class PeriodicThread: @unchecked Sendable {
    // Safety: `thread` and `stopped` are only touched by start/stop, which the owner calls from
    // one place (init and close) under its own lock; the pipe fds are immutable after init.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread: pthread_t?
    private var stopped = false

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    init?(name: String, intervalMs: Int32, tick: @escaping @Sendable () -> Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let readFD = fds[0]
        let body = Body {
            var pfd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            var timeout = intervalMs
            while true {
                let r = poll(&pfd, 1, timeout)
                if r > 0 { return }
                if r < 0 && errno != EINTR { return }
                if r == 0 { timeout = max(1, tick()) }
            }
        }
        let unmanaged = Unmanaged.passRetained(body)
        var tid = pthread_t()
        let rc = pthread_create(
            &tid, nil,
            { arg in
                guard let arg else { return nil }
                let b = Unmanaged<Body>.fromOpaque(arg).takeRetainedValue()
                b.run()
                return nil
            }, unmanaged.toOpaque())
        guard rc == 0 else {
            unmanaged.release()
            close(fds[0])
            close(fds[1])
            return nil
        }
        thread = tid
    }

    func stop() {
        guard !stopped else { return }
        stopped = true
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)
        if let t = thread { pthread_join(t, nil) }
        thread = nil
        close(wakeRead)
        close(wakeWrite)
    }

    deinit { stop() }
}

/// `close(2)`, for types that have a `close()` method of their own.
func closeFD(_ fd: Int32) {
    _ = close(fd)
}
