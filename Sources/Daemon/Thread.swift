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

/// glibc's `pthread_setname_np` (a GNU extension the Glibc module does not export).
@_silgen_name("pthread_setname_np")
private func pthreadSetName(_ thread: pthread_t, _ name: UnsafePointer<CChar>) -> Int32

/// A plain POSIX thread that can be joined: acquisition blocks on the bus, so it must not run on the
/// Swift concurrency pool.
final class JoinableThread: @unchecked Sendable {
    private var thread = pthread_t()
    private var started = false

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread named `name` (at most 15 characters are kept).
    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
                box.body()
                return nil
            }, box)
        if rc == 0 {
            started = true
            // Named for `top -H` and /proc/PID/task/*/comm (the kernel keeps 15 bytes).
            _ = pthreadSetName(thread, String(name.utf8.prefix(15)) ?? "twitchd")
        } else {
            Unmanaged<Box>.fromOpaque(box).release()
        }
    }

    /// Waits for the thread to end.
    func join() {
        guard started else { return }
        started = false
        pthread_join(thread, nil)
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds.
@inline(__always)
func monotonicNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// `CLOCK_REALTIME` in nanoseconds since the epoch.
@inline(__always)
func realtimeNow() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
}

/// Sleeps the calling thread.
func sleepNanoseconds(_ ns: UInt64) {
    var ts = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
    var rest = timespec()
    while nanosleep(&ts, &rest) == -1 && errno == EINTR { ts = rest }
}
