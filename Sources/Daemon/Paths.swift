import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where sockets and state go when the system locations are not writable (no root, no systemd).
public enum Paths {
    /// The per-user runtime directory for twitchd: `$RUNTIME_DIRECTORY` (set by systemd),
    /// `/run/twitchd` when writable, else `$XDG_RUNTIME_DIR/twitchd`, else `/tmp/twitchd-UID`.
    public static func runtimeDirectoryCandidates() -> [String] {
        let environment = ProcessInfo.processInfo.environment
        var list: [String] = []
        if let d = environment["RUNTIME_DIRECTORY"], !d.isEmpty {
            list.append(String(d.split(separator: ":").first ?? Substring(d)))
        }
        list.append("/run/twitchd")
        if let d = environment["XDG_RUNTIME_DIR"], !d.isEmpty { list.append(d + "/twitchd") }
        list.append("/tmp/twitchd-\(getuid())")
        return list
    }

    /// The event socket paths a client should try, in order.
    public static func eventSocketCandidates() -> [String] {
        var seen: Set<String> = []
        return runtimeDirectoryCandidates().map { $0 + "/events.sock" }.filter { seen.insert($0).inserted }
    }

    /// The first directory among `candidates` that exists (or can be made) and is writable.
    public static func firstWritableDirectory(_ candidates: [String]) -> String? {
        for dir in candidates {
            try? FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            if access(dir, W_OK | X_OK) == 0 { return dir }
        }
        return nil
    }

    /// `path` when its directory is writable; else the same file name in a writable runtime dir.
    public static func usableSocketPath(_ path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if access(dir, W_OK | X_OK) == 0 { return path }
        let name = (path as NSString).lastPathComponent
        if let d = firstWritableDirectory(runtimeDirectoryCandidates()) { return d + "/" + name }
        return path
    }

    /// `path` when writable; else `$STATE_DIRECTORY`, `$XDG_STATE_HOME/twitchd`,
    /// `~/.local/state/twitchd` or `/tmp/twitchd-UID/state`.
    public static func usableStateDirectory(_ path: String) -> String {
        let env = ProcessInfo.processInfo.environment
        var candidates = [path]
        if let d = env["STATE_DIRECTORY"], !d.isEmpty {
            candidates.insert(String(d.split(separator: ":").first ?? Substring(d)), at: 0)
        }
        if let d = env["XDG_STATE_HOME"], !d.isEmpty { candidates.append(d + "/twitchd") }
        if let h = env["HOME"], !h.isEmpty { candidates.append(h + "/.local/state/twitchd") }
        candidates.append("/tmp/twitchd-\(getuid())/state")
        return firstWritableDirectory(candidates) ?? path
    }
}
