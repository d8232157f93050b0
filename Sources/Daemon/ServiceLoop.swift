import Dispatch
public import Logging
import Synchronization
public import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The controlling loop of `twitchd run` and `twitchd demo`: waits for signals and acts on them.
public enum ServiceLoop {
    /// Why the loop should end early, besides a signal (e.g. the demo's output pipe closed).
    public final class StopRequest: Sendable {
        private let flag = Atomic<Bool>(false)
        private let wake = DispatchSemaphore(value: 0)
        public init() {}
        /// Asks the loop to stop as if SIGTERM had come.
        public func request() {
            if !flag.exchange(true, ordering: .relaxed) { wake.signal() }
        }
        var requested: Bool { flag.load(ordering: .relaxed) }
        func wait(until deadline: DispatchTime) { _ = wake.wait(timeout: deadline) }
        func poke() { wake.signal() }
    }

    /// Runs `daemon` until SIGTERM or SIGINT (or `duration`, or `stop`), reloading on SIGHUP with
    /// the configuration `reload` returns (an invalid one is logged and the old one kept).
    /// Returns the exit status (0 after a clean stop).
    public static func run(
        daemon: Daemon, duration: Duration? = nil, stop: StopRequest = StopRequest(),
        reload: (() throws(ConfigErrors) -> DaemonConfiguration)?, logger: Logger
    ) -> SysExit {
        let queue = DispatchQueue(label: "twitchd.signals")
        let received = Locked<[Int32]>([])
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler {
                received.withLock { $0.append(sig) }
                stop.poke()
            }
            source.resume()
            sources.append(source)
        }
        signal(SIGPIPE, SIG_IGN)
        defer {
            for s in sources { s.cancel() }
        }
        let end: DispatchTime =
            duration.map {
                .now()
                    + .nanoseconds(
                        Int($0.components.seconds) * 1_000_000_000
                            + Int($0.components.attoseconds / 1_000_000_000))
            } ?? .distantFuture
        while true {
            stop.wait(until: min(end, .now() + 1))
            let signals = received.withLock { list -> [Int32] in
                defer { list = [] }
                return list
            }
            if signals.contains(SIGTERM) || signals.contains(SIGINT) || stop.requested
                || DispatchTime.now() >= end
            {
                let which =
                    signals.contains(SIGTERM) ? "SIGTERM" : signals.contains(SIGINT) ? "SIGINT" : "end of run"
                logger.info("stopping (\(which))")
                daemon.stop()
                return .ok
            }
            if signals.contains(SIGHUP) {
                guard let reload else { continue }
                logger.info("SIGHUP: reloading the configuration")
                do {
                    let new = try reload()
                    try daemon.reload(new)
                    logger.info("configuration reloaded")
                } catch let errors as ConfigErrors {
                    for issue in errors.issues { logger.error("reload: \(issue.description)") }
                    logger.error("reload: keeping the previous configuration")
                    daemon.refuseReload(errors.issues.first?.description ?? "invalid configuration")
                } catch let error as DaemonStartError {
                    // Nothing was changed: the previous sensors and outputs still run.
                    for line in error.description.split(separator: "\n") { logger.error("reload: \(line)") }
                    logger.error("reload: keeping the previous configuration")
                } catch {
                    logger.error("reload: \(error); keeping the previous configuration")
                }
            }
        }
    }
}
