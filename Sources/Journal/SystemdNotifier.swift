// sd_notify(3), written here: service readiness, status, watchdog and stop/reload notices.

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Tells systemd how the service is doing, through `$NOTIFY_SOCKET` (`Type=notify` units).
///
/// A no-op when `NOTIFY_SOCKET` is unset (started by hand, in tests, in `twitchd demo`): every
/// method then returns `false` and does nothing.
///
/// ```swift
/// let systemd = SystemdNotifier.fromEnvironment()
/// systemd.ready(status: "streaming 1 sensor at 800 Hz")   // once sensors stream
/// systemd.status("800 Hz, 12 twitches in the last hour")
/// let watchdog = Watchdog(notifier: systemd) { pipeline.isHealthy }  // nil if WatchdogSec unset
/// watchdog?.start()
/// systemd.reloading(); reload(); systemd.ready()                      // on SIGHUP
/// systemd.stopping()                                                   // on SIGTERM
/// ```
public struct SystemdNotifier: Sendable {
    /// The socket from `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace), nil when
    /// unset.
    public let socketPath: String?
    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`. Nil when the watchdog is off or
    /// `$WATCHDOG_PID` names another process.
    public let watchdogInterval: Duration?

    /// A notifier from explicit values (tests); `watchdogUsec`/`watchdogPID` as in the environment.
    public init(socketPath: String?, watchdogUsec: UInt64? = nil, watchdogPID: Int32? = nil) {
        self.socketPath = socketPath.flatMap { $0.isEmpty ? nil : $0 }
        if let usec = watchdogUsec, usec > 0, watchdogPID == nil || watchdogPID == getpid() {
            watchdogInterval = .microseconds(Int64(clamping: usec / 2))
        } else {
            watchdogInterval = nil
        }
    }

    /// A notifier from `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID`.
    public static func fromEnvironment() -> SystemdNotifier {
        func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        return SystemdNotifier(
            socketPath: env("NOTIFY_SOCKET"), watchdogUsec: env("WATCHDOG_USEC").flatMap { UInt64($0) },
            watchdogPID: env("WATCHDOG_PID").flatMap { Int32($0) })
    }

    /// Whether notifications go anywhere.
    public var isEnabled: Bool { socketPath != nil }

    /// `READY=1`, with an optional `STATUS=`. Send it once sensors stream, and again after a reload.
    @discardableResult
    public func ready(status: String? = nil) -> Bool {
        notify(["READY=1"] + (status.map { ["STATUS=" + $0] } ?? []))
    }

    /// `STATUS=` (a one-line live summary shown by `systemctl status`).
    @discardableResult
    public func status(_ text: String) -> Bool {
        notify(["STATUS=" + text.replacingNewlines()])
    }

    /// `WATCHDOG=1`: "still alive". Call every ``watchdogInterval`` while healthy (or use
    /// ``Watchdog``).
    @discardableResult
    public func watchdog() -> Bool {
        notify(["WATCHDOG=1"])
    }

    /// `STOPPING=1`: shutdown has begun.
    @discardableResult
    public func stopping(status: String? = nil) -> Bool {
        notify(["STOPPING=1"] + (status.map { ["STATUS=" + $0.replacingNewlines()] } ?? []))
    }

    /// `RELOADING=1` + `MONOTONIC_USEC=` (now): a reload has begun; send ``ready(status:)`` when done.
    @discardableResult
    public func reloading(status: String? = nil) -> Bool {
        notify(
            ["RELOADING=1", "MONOTONIC_USEC=\(Clocks.monotonicUsec())"]
                + (status.map { ["STATUS=" + $0.replacingNewlines()] } ?? []))
    }

    /// Sends `assignments` (`KEY=VALUE` each) in one datagram. Returns whether it was sent.
    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        guard let path = socketPath, let address = UnixAddress(path: path) else { return false }
        let fd = makeDatagramSocket()
        guard fd >= 0 else { return false }
        defer { closeFD(fd) }
        let text = assignments.joined(separator: "\n") + "\n"
        return sendDatagram(fd, Array(text.utf8), to: address) == 0
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(self.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}

/// Sends `WATCHDOG=1` every ``SystemdNotifier/watchdogInterval`` from its own thread, but only
/// while `isHealthy` says so: a stalled acquisition stops the pings and systemd restarts the
/// service after `WatchdogSec=`.
public final class Watchdog: Sendable {
    private let notifier: SystemdNotifier
    private let isHealthy: @Sendable () -> Bool
    private let interval: Duration
    private let thread = Mutex<PeriodicThread?>(nil)
    private let counters = Mutex<(sent: UInt64, skipped: UInt64)>((0, 0))

    /// Nil when the watchdog is not enabled for this process (no `WATCHDOG_USEC`, another
    /// `WATCHDOG_PID`, or no notify socket). `interval` overrides the notifier's (tests).
    public init?(
        notifier: SystemdNotifier, interval: Duration? = nil, isHealthy: @escaping @Sendable () -> Bool
    ) {
        guard notifier.isEnabled, let every = interval ?? notifier.watchdogInterval else { return nil }
        self.notifier = notifier
        self.isHealthy = isHealthy
        self.interval = every
    }

    /// Starts pinging (the first ping right away if healthy). Calling it twice does nothing.
    public func start() {
        thread.withLock { t in
            guard t == nil else { return }
            tick()
            let c = interval.components
            let ms = Int32(clamping: max(1, c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000))
            t = PeriodicThread(name: "twitchd-watchdog", intervalMs: ms) { [weak self] in
                self?.tick()
                return ms
            }
        }
    }

    /// Stops pinging.
    public func stop() {
        let t = thread.withLock { t -> PeriodicThread? in
            let old = t
            t = nil
            return old
        }
        t?.stop()
    }

    /// Pings sent, and ticks skipped because the service was not healthy.
    public var counts: (sent: UInt64, skipped: UInt64) { counters.withLock { $0 } }

    private func tick() {
        if isHealthy() {
            notifier.watchdog()
            counters.withLock { $0.sent += 1 }
        } else {
            counters.withLock { $0.skipped += 1 }
        }
    }

    deinit { stop() }
}
