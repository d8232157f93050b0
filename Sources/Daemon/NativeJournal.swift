import Foundation
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Sends structured entries to journald's native socket. Stand-in until the Journal module's
/// client (with the memfd fallback and the on-disk spool) is wired in.
final class NativeJournalSink: EventSink, @unchecked Sendable {
    let name = "journal"
    private let path: String
    private var fd: Int32 = -1
    /// Entries journald did not take yet, oldest first (delivered in order when it returns).
    private var backlog: [[UInt8]] = []
    private let logger: Logger

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    func deliver(_ event: DaemonEvent) {
        backlog.append(Self.encode(event.journalFields))
        sendBacklog(wait: false)
    }

    func flush() { sendBacklog(wait: false) }

    func close() {
        // Give a restarting journald a moment, then give up (the spool will keep them).
        let deadline = monotonicNow() + 500_000_000
        while !backlog.isEmpty && monotonicNow() < deadline {
            sendBacklog(wait: true)
            if !backlog.isEmpty { sleepNanoseconds(50_000_000) }
        }
        if !backlog.isEmpty { logger.error("journal: \(backlog.count) events not delivered at exit") }
        if fd >= 0 { Glibc.close(fd) }
    }

    private func sendBacklog(wait: Bool) {
        while let entry = backlog.first {
            if !send(entry) {
                if wait { return }
                return
            }
            backlog.removeFirst()
        }
    }

    private func send(_ entry: [UInt8]) -> Bool {
        if fd < 0 {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if fd < 0 { return false }
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let n = entry.withUnsafeBytes { raw in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
        return n == entry.count
    }

    /// Native protocol: `KEY=value\n`, or `KEY\n` + 64-bit little-endian length + bytes + `\n` when
    /// the value holds a newline.
    static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, value) in fields {
            out.append(contentsOf: key.utf8)
            let v = Array(value.utf8)
            if v.contains(UInt8(ascii: "\n")) {
                out.append(UInt8(ascii: "\n"))
                var length = UInt64(v.count).littleEndian
                withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
            } else {
                out.append(UInt8(ascii: "="))
            }
            out.append(contentsOf: v)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}

/// Journal outputs.
public enum JournalOutputs {
    /// The native-protocol sink for `configuration.journalSocket`.
    public static func native(_ configuration: DaemonConfiguration, _ logger: Logger) -> (any EventSink)? {
        NativeJournalSink(path: configuration.journalSocket, logger: logger)
    }
}
