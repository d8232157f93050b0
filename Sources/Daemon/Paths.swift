#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

    /// The directory part of `path`, as `dirname` gives it but "" for a bare file name:
    /// `/run/twitchd/events.sock` -> `/run/twitchd`, `/events.sock` -> `/`, `events.sock` -> "".
    public static func directory(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.last == "/" { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "" }
        var dir = p[..<slash]
        while dir.count > 1 && dir.last == "/" { dir = dir.dropLast() }
        return dir.isEmpty ? "/" : String(dir)
    }

    /// The last component of `path` (trailing slashes ignored): `/run/twitchd/events.sock` ->
    /// `events.sock`.
    public static func fileName(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.last == "/" { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/"), p.count > 1 else { return String(p) }
        return String(p[p.index(after: slash)...])
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
        let dir = Paths.directory(of: path)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if access(dir, W_OK | X_OK) == 0 { return path }
        let name = Paths.fileName(of: path)
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
