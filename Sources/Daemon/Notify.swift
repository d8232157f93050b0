import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Tells the service manager how the daemon is doing (sd_notify).
public protocol ServiceNotifier: Sendable {
    /// Sends one or more `KEY=VALUE` lines, e.g. `READY=1` or `STATUS=...`.
    func notify(_ state: String)
    /// The watchdog period the manager asked for (`WATCHDOG_USEC`, for this process), if any.
    var watchdogInterval: Duration? { get }
}

/// A notifier that sends nothing (no service manager).
public struct NoNotifier: ServiceNotifier {
    public init() {}
    public func notify(_ state: String) {}
    public var watchdogInterval: Duration? { nil }
}

/// sd_notify over `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
public final class SystemdNotifier: ServiceNotifier {
    private let fd: Int32
    private let address: sockaddr_un
    private let addressLength: socklen_t
    public let watchdogInterval: Duration?

    /// Returns nil when `$NOTIFY_SOCKET` is unset or unusable.
    public convenience init?() { self.init(environment: ProcessInfo.processInfo.environment) }

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let length = MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.address = addr
        self.addressLength = socklen_t(length)
        var interval: Duration?
        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            let pid = environment["WATCHDOG_PID"].flatMap(Int32.init)
            if pid == nil || pid == getpid() { interval = .microseconds(usec) }
        }
        self.watchdogInterval = interval
    }

    deinit { close(fd) }

    public func notify(_ state: String) {
        var addr = address
        let bytes = Array(state.utf8)
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0, addressLength)
                }
            }
        }
    }
}
