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
    /// The last-resort per-user directory in a world-writable place: `$TMPDIR/twitchd-UID`
    /// (`/tmp/twitchd-UID` without TMPDIR). Anyone can create that name first, so it is used only
    /// when it is a real directory (not a symlink) owned by this user with mode 0700
    /// (``makePrivateDirectory(_:)``).
    public static var sharedTemporaryFallback: String {
        let env = ProcessInfo.processInfo.environment
        var base = env["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return base + "/twitchd-\(getuid())"
    }

    /// Creates `path` (mode 0700) if missing, then checks it is a private directory of this user:
    /// not a symlink, owned by the real uid, no access for group or others. Returns nil when it is,
    /// else why not (the directory is then left alone: never chmod or chown what someone else
    /// made).
    public static func makePrivateDirectory(_ path: String) -> String? {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            return "cannot create \(path): \(String(cString: strerror(errno)))"
        }
        return privateDirectoryProblem(path)
    }

    /// Nil when `path` is a directory (not a symlink) owned by this user with no group or other
    /// access; else what is wrong with it.
    public static func privateDirectoryProblem(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        if (st.st_mode & S_IFMT) == S_IFLNK { return "\(path) is a symbolic link" }
        if (st.st_mode & S_IFMT) != S_IFDIR { return "\(path) is not a directory" }
        if st.st_uid != getuid() { return "\(path) belongs to uid \(st.st_uid), not to uid \(getuid())" }
        if st.st_mode & 0o077 != 0 {
            return "\(path) has mode \(String(st.st_mode & 0o7777, radix: 8)), not 700"
        }
        return nil
    }

    /// The per-user runtime directory for twitchd: `$RUNTIME_DIRECTORY` (set by systemd),
    /// `/run/twitchd` when writable, else `$XDG_RUNTIME_DIR/twitchd`, else `/tmp/twitchd-UID`
    /// (``sharedTemporaryFallback``).
    public static func runtimeDirectoryCandidates() -> [String] {
        let environment = ProcessInfo.processInfo.environment
        var list: [String] = []
        if let d = environment["RUNTIME_DIRECTORY"], !d.isEmpty {
            list.append(String(d.split(separator: ":").first ?? Substring(d)))
        }
        list.append("/run/twitchd")
        if let d = environment["XDG_RUNTIME_DIR"], !d.isEmpty { list.append(d + "/twitchd") }
        list.append(sharedTemporaryFallback)
        return list
    }

    /// The event socket paths a client should try, in order. The shared temporary fallback is
    /// left out unless it is this user's private directory: anyone could have made it and put a
    /// socket there that serves forged events.
    public static func eventSocketCandidates() -> [String] {
        var seen: Set<String> = []
        let fallback = sharedTemporaryFallback
        return runtimeDirectoryCandidates()
            .filter { $0 != fallback || privateDirectoryProblem($0) == nil }
            .map { $0 + "/events.sock" }.filter { seen.insert($0).inserted }
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
    /// Below ``sharedTemporaryFallback`` every directory must be private
    /// (``makePrivateDirectory(_:)``); one that is not is skipped with a note on stderr.
    public static func firstWritableDirectory(_ candidates: [String]) -> String? {
        let fallback = sharedTemporaryFallback
        for dir in candidates {
            if dir == fallback || dir.hasPrefix(fallback + "/") {
                var problem = makePrivateDirectory(fallback)
                if problem == nil && dir != fallback { problem = makePrivateDirectory(dir) }
                if let problem {
                    let line = "twitchd: not using \(dir): \(problem) (someone else may have made it)\n"
                    _ = line.withCString { write(2, $0, strlen($0)) }
                    continue
                }
                if access(dir, W_OK | X_OK) == 0 { return dir }
                continue
            }
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
        candidates.append(sharedTemporaryFallback + "/state")
        return firstWritableDirectory(candidates) ?? path
    }
}
