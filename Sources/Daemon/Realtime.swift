import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Real-time scheduling and memory locking, when configured and permitted.
enum Realtime {
    /// Puts the calling thread under SCHED_FIFO at `priority`; returns a reason on failure.
    static func setFIFO(priority: Int32) -> String? {
        var param = sched_param()
        param.sched_priority = priority
        let rc = pthread_setschedparam(pthread_self(), Int32(SCHED_FIFO), &param)
        if rc == 0 { return nil }
        if rc == EPERM {
            return "not permitted (needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least \(priority))"
        }
        return String(cString: strerror(rc))
    }

    /// Locks current and future memory; returns a reason on failure.
    static func lockMemory() -> String? {
        if mlockall(Int32(MCL_CURRENT | MCL_FUTURE)) == 0 { return nil }
        let e = errno
        if e == EPERM || e == ENOMEM {
            return
                "not permitted (needs CAP_IPC_LOCK or a larger RLIMIT_MEMLOCK): \(String(cString: strerror(e)))"
        }
        return String(cString: strerror(e))
    }
}
