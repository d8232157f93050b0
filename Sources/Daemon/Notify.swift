/// Tells the service manager how the daemon is doing (sd_notify).
public protocol ServiceNotifier: Sendable {
    /// Sends one or more `KEY=VALUE` lines, e.g. `READY=1` or `STATUS=...`.
    func notify(_ state: String)
    /// How often to send `WATCHDOG=1` (half of `WATCHDOG_USEC`) when the watchdog is ours.
    var watchdogPingInterval: Duration? { get }
}

/// A notifier that sends nothing (no service manager).
public struct NoNotifier: ServiceNotifier {
    public init() {}
    public func notify(_ state: String) {}
    public var watchdogPingInterval: Duration? { nil }
}
