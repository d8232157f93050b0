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
