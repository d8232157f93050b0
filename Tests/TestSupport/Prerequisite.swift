// What a test needs from the machine (the built twitchd, a real journald, chromium, the shared
// traces) decides whether it runs; where it cannot, Swift Testing reports it skipped, with the
// reason, instead of the test passing without checking anything.

#if canImport(Glibc)
    import Glibc
#endif

/// Whether a test's prerequisite counts as present.
public enum Prerequisite {
    /// Set (`TWITCHD_TESTS_REQUIRE_ALL=1`, as `.ci/run` does) where every prerequisite must be
    /// there: a missing one then fails its test at its `#require` instead of skipping it, so a
    /// broken CI setup cannot turn checks into skips.
    public static var required: Bool {
        getenv("TWITCHD_TESTS_REQUIRE_ALL").map { String(cString: $0) } == "1"
    }

    /// For `.enabled(if:)`: true when `found`, or when every prerequisite is required here.
    public static func met(_ found: Bool) -> Bool { found || required }

    /// A real journald can run here (``JournaldNamespace/unavailableReason`` is nil), or is required.
    public static var journald: Bool { met(JournaldNamespace.unavailableReason == nil) }
}

/// Thrown by ``requireJournald()``: why a real journald cannot run here.
public struct PrerequisiteMissing: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Throws, with the reason, where a real journald cannot run: for tests enabled by
/// ``Prerequisite/journald`` that run anyway because every prerequisite is required.
public func requireJournald() throws {
    if let reason = JournaldNamespace.unavailableReason { throw PrerequisiteMissing(reason) }
}

/// The built `twitchd` for tests that run the binary: $TWITCHD_BINARY, else beside the test
/// bundle (any scratch path, as the emulated arm64 root's `.build-arm64`), else in the
/// checkout's `.build/debug` or `.build/release` above `file`. Not through `Bundle.allBundles`:
/// it crashes Swift 6.0.3's Foundation (the Pi's swiftlang) and takes the whole test run down.
public func builtTwitchd(file: String = #filePath) -> String? {
    if let env = getenv("TWITCHD_BINARY") { return String(cString: env) }
    var candidates: [String] = []
    var beside = CommandLine.arguments.first ?? ""
    if let resolved = realpath(beside, nil) {
        beside = String(cString: resolved)
        free(resolved)
    }
    var dir = beside
    for _ in 0..<4 {
        dir = parent(dir)
        candidates.append(dir + "/twitchd")
    }
    dir = parent(file)
    for _ in 0..<4 {
        dir = parent(dir)
        candidates += [dir + "/.build/debug/twitchd", dir + "/.build/release/twitchd"]
    }
    return candidates.first { access($0, X_OK) == 0 }
}

private func parent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
