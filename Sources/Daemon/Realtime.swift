#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

    /// Linux's `MCL_ONFAULT` (4.4+): lock pages as they are touched, not every mapping up front
    /// (locking whole libraries and thread-stack reservations would pin hundreds of MB).
    static let mclOnFault: Int32 = 4

    /// Locks current and future memory as it is used; returns a reason on failure.
    static func lockMemory() -> String? {
        let flags = Int32(MCL_CURRENT | MCL_FUTURE)
        if mlockall(flags | mclOnFault) == 0 { return nil }
        if errno == EINVAL, mlockall(flags) == 0 { return nil }
        let e = errno
        if e == EPERM || e == ENOMEM {
            return
                "not permitted (needs CAP_IPC_LOCK or a larger RLIMIT_MEMLOCK): \(String(cString: strerror(e)))"
        }
        return String(cString: strerror(e))
    }
}
