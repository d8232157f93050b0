import ArgumentParser
import Synchronization
import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `text` to standard error as it is (add the newline yourself). A failed write is
/// ignored: there is nowhere left to report it.
func writeStandardError(_ text: String) { _ = writeAll(text, to: STDERR_FILENO) }

/// Writes `text` to standard output as it is; a failure is remembered by ``StandardOutput``.
func writeStandardOutput(_ text: String) { _ = StandardOutput.write(text) }

/// Standard output for every command, with the first failed write remembered, so that a full
/// disk, `> /dev/full` or a closed socket ends the command with status 74 and a message instead
/// of status 0 and a truncated result. A closed pipe (`| head`) is not an error: the command
/// stops writing and ends quietly.
enum StandardOutput {
    /// errno of the first failed write, 0 while every write succeeded.
    private static let failure = Atomic<Int32>(0)

    /// Writes `text`; false once any write failed (then nothing more is written).
    static func write(_ text: String) -> Bool {
        guard failure.load(ordering: .acquiring) == 0 else { return false }
        let e = writeAll(text, to: STDOUT_FILENO)
        if e != 0 {
            _ = failure.compareExchange(expected: 0, desired: e, ordering: .acquiringAndReleasing)
            return false
        }
        return true
    }

    /// Writes `text` and a newline.
    static func line(_ text: String) -> Bool { write(text + "\n") }

    /// Records a failure seen by another writer of standard output (errno).
    static func record(_ errnoValue: Int32) {
        guard errnoValue != 0 else { return }
        _ = failure.compareExchange(expected: 0, desired: errnoValue, ordering: .acquiringAndReleasing)
    }

    /// True once a write failed or the reader went away.
    static var stopped: Bool { failure.load(ordering: .acquiring) != 0 }

    /// The message for a failed write, nil when none failed or the pipe was closed (quiet).
    static var failureMessage: String? {
        let e = failure.load(ordering: .acquiring)
        guard e != 0, e != EPIPE else { return nil }
        return "writing standard output failed: \(errnoText(e)); the output is incomplete"
    }

    /// After a command's output: prints the failure (if any) as `command: ...` and throws exit 74.
    static func check(_ command: String) throws {
        if let m = failureMessage {
            writeStandardError("\(command): \(m)\n")
            throw ExitCode(SysExit.ioErr.rawValue)
        }
    }
}

/// `strerror` text for an errno value.
func errnoText(_ e: Int32) -> String {
    guard let s = strerror(e) else { return "error \(e)" }
    return String(cString: s)
}

/// Writes all of `text` to `fd`; returns 0, or the errno of the write that failed.
private func writeAll(_ text: String, to fd: Int32) -> Int32 {
    var text = text
    return text.withUTF8 { bytes -> Int32 in
        guard let base = bytes.baseAddress else { return 0 }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, base + offset, bytes.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return n < 0 ? errno : EIO
            }
        }
        return 0
    }
}
