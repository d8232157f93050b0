// The daemon's state directory: one daemon at a time (a lock), and sequence numbers that stay
// unique across crashes (a block reserved durably before any number in it is used).
//
// `last-seq` holds one line:
//   `N`           the previous run stopped cleanly after event N; the next run starts at N+1.
//   `N reserved`  a run is using (or was using, when it died) numbers up to N; the next run
//                 starts at N+1, so numbers are never reused, at the cost of a gap after a crash.
// Every write goes to `last-seq.tmp`, is fsynced, renamed over `last-seq`, and the directory is
// fsynced: a power cut leaves the old or the new value, never a torn one.

import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An open, locked state directory.
final class StateDirectory: @unchecked Sendable {
    // Safety: `dirFD` and `lockFD` are immutable after init and closed only by `close()`, which
    // the daemon calls once after the detector thread (the only user of `reserve`) has stopped.

    /// Sequence numbers reserved per durable write (one fsync per this many events).
    static let blockSize: UInt64 = 1024
    static let seqFileName = "last-seq"
    static let lockFileName = "lock"

    let path: String
    private let dirFD: Int32
    private let lockFD: Int32
    private var closed = false

    /// What an earlier run left in `last-seq`.
    struct Saved: Equatable {
        var last: UInt64
        /// False when the previous run did not stop cleanly (a reservation was left behind).
        var clean: Bool
    }

    /// Opens (creating if needed, mode 0700) and locks `path`. Refuses a directory another user
    /// owns or others can write into, and a state directory another twitchd holds.
    init(path: String) throws(DaemonStartError) {
        self.path = path
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            // Parents may be missing (a configured path): create them the ordinary way.
            makeParents(path)
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw DaemonStartError(
                    "state directory \(path): \(errnoText(errno))", exit: .cantCreate)
            }
        }
        let dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else {
            throw DaemonStartError("state directory \(path): \(errnoText(errno))", exit: .cantCreate)
        }
        var st = stat()
        guard fstat(dir, &st) == 0 else {
            let e = errno
            Glibc.close(dir)
            throw DaemonStartError("state directory \(path): \(errnoText(e))", exit: .cantCreate)
        }
        if let problem = Self.unsafeOwnership(st) {
            Glibc.close(dir)
            throw DaemonStartError(
                "state directory \(path): \(problem); refusing to use it", exit: .cantCreate)
        }
        let lock = openat(dir, Self.lockFileName, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard lock >= 0 else {
            let e = errno
            Glibc.close(dir)
            throw DaemonStartError(
                "state directory \(path): \(Self.lockFileName): \(errnoText(e))", exit: .cantCreate)
        }
        if flock(lock, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            let holder = Self.readSmallFile(lock).split(separator: "\n").first.map(String.init) ?? ""
            Glibc.close(lock)
            Glibc.close(dir)
            if e == EWOULDBLOCK {
                let who = holder.isEmpty ? "another twitchd" : "another twitchd (pid \(holder))"
                throw DaemonStartError(
                    "state directory \(path) is in use by \(who); only one daemon may use a state "
                        + "directory (give this one its own with --state-directory)",
                    exit: .tempFail)
            }
            throw DaemonStartError("lock \(path)/\(Self.lockFileName): \(errnoText(e))", exit: .cantCreate)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(lock, 0)
        _ = pid.withUnsafeBytes { pwrite(lock, $0.baseAddress, $0.count, 0) }
        dirFD = dir
        lockFD = lock
    }

    deinit { close() }

    /// Why a directory with this `stat` must not hold our state, or nil when it may.
    static func unsafeOwnership(_ st: stat) -> String? {
        if (st.st_mode & S_IFMT) != S_IFDIR { return "not a directory" }
        if st.st_uid != geteuid() { return "owned by uid \(st.st_uid), not by this user (uid \(geteuid()))" }
        if st.st_mode & 0o022 != 0 {
            return "writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// The saved sequence state; `0, clean` when there is none or it cannot be read.
    func load() -> Saved {
        let fd = openat(dirFD, Self.seqFileName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return Saved(last: 0, clean: true) }
        defer { Glibc.close(fd) }
        let words = Self.readSmallFile(fd).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let first = words.first, let n = UInt64(first) else { return Saved(last: 0, clean: true) }
        return Saved(last: n, clean: !words.contains("reserved"))
    }

    /// Durably records that numbers up to `upTo` may be in use. False (with errno text) on failure.
    func reserve(upTo: UInt64) -> String? {
        write("\(upTo) reserved\n")
    }

    /// Records a clean stop after event `last`.
    func saveClean(_ last: UInt64) -> String? {
        write("\(last)\n")
    }

    private func write(_ text: String) -> String? {
        guard !closed else { return "closed" }
        let tmp = Self.seqFileName + ".tmp"
        let fd = openat(dirFD, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "\(tmp): \(errnoText(errno))" }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        let e = errno
        Glibc.close(fd)
        guard written == bytes.count, synced else { return "\(tmp): \(errnoText(e))" }
        guard renameat(dirFD, tmp, dirFD, Self.seqFileName) == 0 else {
            return "rename \(tmp): \(errnoText(errno))"
        }
        guard fsync(dirFD) == 0 else { return "fsync \(path): \(errnoText(errno))" }
        return nil
    }

    /// Releases the lock. Idempotent.
    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(lockFD)
        Glibc.close(dirFD)
    }

    private static func readSmallFile(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return "" }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }
}

private func errnoText(_ e: Int32) -> String {
    strerror(e).map { String(cString: $0) } ?? "error \(e)"
}

/// `mkdir -p` of the parents of `path` (mode 0755, as the system's own directories).
private func makeParents(_ path: String) {
    var prefix = path.hasPrefix("/") ? "" : "."
    let parts = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
    for part in parts {
        prefix += "/" + part
        _ = mkdir(prefix, 0o755)
    }
}
