// A real systemd-journald for the tests, run stand-alone as a journal namespace (no systemd
// needed): `systemd-journald NAME` serves /run/systemd/journal.NAME/socket and
// `journalctl --namespace=NAME -o json` reads it back. Needs root and the systemd package
// (scripts/install-deps test); tests check `unavailableReason` and skip with it otherwise.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A stand-alone journald serving one namespace, and journalctl to read it.
public final class JournaldNamespace {
    static let journaldCandidates = ["/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"]
    static let journalctlCandidates = ["/usr/bin/journalctl", "/bin/journalctl"]

    /// The namespace, unique per process and instance.
    public let name: String
    let journald: String
    let journalctl: String
    private var process: Process?
    /// A stdout stream that keeps journald from exiting when idle (``keepJournaldAwake(_:)``).
    private var keepAwake: Int32 = -1

    /// journald's native socket for this namespace.
    public var socketPath: String { "/run/systemd/journal.\(name)/socket" }

    /// Why a real journald cannot run here, or nil if it can.
    public static var unavailableReason: String? {
        if geteuid() != 0 {
            return "needs root (journald namespaces write /run/systemd and /var/log/journal)"
        }
        if journaldCandidates.first(where: { access($0, X_OK) == 0 }) == nil {
            return "systemd-journald not found (install the systemd package: scripts/install-deps test)"
        }
        if journalctlCandidates.first(where: { access($0, X_OK) == 0 }) == nil {
            return "journalctl not found (install the systemd package: scripts/install-deps test)"
        }
        if machineID.count != 32 {
            return
                "/etc/machine-id is missing or empty (run systemd-machine-id-setup; scripts/install-deps test does)"
        }
        return nil
    }

    static var machineID: String {
        ((try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A namespace named `prefix`, the process id and a random number (not started yet).
    public init(prefix: String) {
        name = "\(prefix)\(getpid())x\(UInt32.random(in: 0...UInt32.max))"
        journald = Self.journaldCandidates.first { access($0, X_OK) == 0 } ?? Self.journaldCandidates[0]
        journalctl = Self.journalctlCandidates.first { access($0, X_OK) == 0 } ?? Self.journalctlCandidates[0]
    }

    /// Starts journald and waits until its native socket accepts datagrams.
    public func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: journald)
        p.arguments = [name]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let ready = Self.waitUntil(seconds: 10) { acceptsDatagrams() }
        if !ready {
            throw JournaldUnavailable(description: "journald \(name) did not come up at \(socketPath)")
        }
        keepAwake = keepJournaldAwake(name)
    }

    /// Stops journald the way a restart under systemd looks to a client: under systemd the
    /// socket outlives journald (datagrams queued during a restart wait in it); a stand-alone
    /// journald takes its queue with it. So the socket goes first (new sends fail and spool),
    /// journald drains what is already queued, and only then is it stopped.
    public func stop() {
        guard let p = process else { return }
        if keepAwake >= 0 { close(keepAwake) }
        keepAwake = -1
        unlink(socketPath)
        usleep(500_000)
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    /// Stops journald and removes the namespace's files.
    public func destroy() {
        stop()
        for path in [
            "/run/systemd/journal.\(name)", "/var/log/journal/\(Self.machineID).\(name)",
            "/run/log/journal/\(Self.machineID).\(name)",
        ] {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    deinit { destroy() }

    /// Every entry matching journalctl `filters` (e.g. `MESSAGE_ID=...`), as JSON objects, in
    /// journal order; empty when journalctl cannot run.
    public func entries(matching filters: String...) -> [[String: Any]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: journalctl)
        p.arguments = ["--namespace=\(name)", "-o", "json", "--all", "--no-pager"] + filters
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return [] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// Entries matching `filter` once there are at least `count` (journald writes
    /// asynchronously), or what there is after `seconds`.
    public func waitForEntries(matching filter: String, count: Int, seconds: Double = 15) -> [[String: Any]] {
        var got: [[String: Any]] = []
        _ = Self.waitUntil(seconds: seconds) {
            got = entries(matching: filter)
            return got.count >= count
        }
        return got
    }

    /// Whether the native socket takes a datagram (an empty one, which journald ignores).
    private func acceptsDatagrams() -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let sent = withUnixAddress(socketPath) { sendto(fd, nil, 0, 0, $0, $1) } ?? -1
        return sent == 0
    }

    static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

/// journald did not come up.
public struct JournaldUnavailable: Error, CustomStringConvertible {
    public var description: String
}
