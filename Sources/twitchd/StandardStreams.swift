#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `text` to standard error as it is (add the newline yourself). A failed write is
/// ignored: there is nowhere left to report it.
func writeStandardError(_ text: String) { writeAll(text, to: STDERR_FILENO) }

/// Writes `text` to standard output as it is.
func writeStandardOutput(_ text: String) { writeAll(text, to: STDOUT_FILENO) }

private func writeAll(_ text: String, to fd: Int32) {
    var text = text
    text.withUTF8 { bytes in
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, base + offset, bytes.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
