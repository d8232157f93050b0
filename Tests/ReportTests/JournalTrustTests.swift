import Foundation
import TestSupport
import Testing

@testable import Report

#if canImport(Glibc)
    import Glibc
#endif

/// The built `twitchd` (TestSupport's search, from this checkout).
func twitchdExecutable() -> String? { builtTwitchd() }

/// The built `twitchd`, or a thrown error saying to build it.
func requireTwitchdExecutable() throws -> String {
    guard let path = twitchdExecutable() else {
        throw PrerequisiteMissing(
            "the twitchd executable was not found beside the tests; run swift build first")
    }
    return path
}

/// Runs `path` with `arguments`; returns (status, stdout, stderr).
@discardableResult
func runProcess(_ path: String, _ arguments: [String]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let errReader = Thread {}
    _ = errReader
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Sends journal entries with chosen fields from a program with a chosen name (`_COMM`: a
/// script's name becomes its process name) and uid, in journald's native protocol.
struct EntrySender {
    let socket: String
    let dir: String

    /// Sends `fields` as one entry from a program called `comm`, as `uid` (nil: ourselves).
    func send(_ fields: [String: String], comm: String = "twitchd", uid: Int? = nil) throws {
        try send([fields], comm: comm, uid: uid)
    }

    /// Sends each of `entries` as one entry, in order, from one run of a program called `comm`.
    ///
    /// journald reads `_COMM` from the sender's /proc entry after the datagram arrives: the
    /// program stays alive a moment after sending, or a loaded machine loses `_COMM` (and the
    /// entry's trust) when it has already exited.
    func send(_ entries: [[String: String]], comm: String = "twitchd", uid: Int? = nil) throws {
        let program = dir + "/" + comm
        if !FileManager.default.fileExists(atPath: program) {
            let script = """
                #!/usr/bin/python3
                import socket, sys, time
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                for f in sys.argv[2:]:
                    s.sendto(open(f, "rb").read(), sys.argv[1])
                time.sleep(1)

                """
            try script.write(toFile: program, atomically: true, encoding: .utf8)
            chmod(program, 0o755)
            chmod(dir, 0o755)
        }
        var files: [String] = []
        for fields in entries {
            let file = dir + "/entry-\(UInt32.random(in: 0...UInt32.max))"
            let text = fields.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "\n") + "\n"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o644)
            files.append(file)
        }
        let (status, _, err) =
            if let uid {
                try runProcess(
                    "/usr/bin/setpriv",
                    ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", program, socket] + files)
            } else {
                try runProcess(program, [socket] + files)
            }
        #expect(status == 0, "\(err)")
    }
}

let twitchID = "e1a046b8355640d8bf66367ef4914329"
let exposureID = "07cc454edfa24dcead5a9b11faa154fb"

/// 2026-11-30 10:00 UTC plus `minutes`, in microseconds.
func at(_ minutes: Double) -> Int64 { 1_796_032_800_000_000 + Int64(minutes * 60_000_000) }

func twitch(_ minutes: Double, seq: Int, simulated: Bool = false) -> [String: String] {
    var f = [
        "MESSAGE": "twitch", "MESSAGE_ID": twitchID, "TWITCH_ONSET_REALTIME_USEC": String(at(minutes)),
        "TWITCH_PEAK_MG": "3.50", "TWITCH_FREQ_HZ": "12.0", "TWITCH_DURATION_MS": "90.0",
        "TWITCH_LOCATION": "left-calf", "TWITCH_SENSOR": "sim", "TWITCH_SEQ": String(seq),
    ]
    if simulated { f["TWITCH_SIMULATED"] = "1" }
    return f
}

@Suite(
    .serialized,
    .enabled(if: Prerequisite.journald, Comment(rawValue: JournaldNamespace.unavailableReason ?? "")))
struct JournalTrustTests {
    /// One namespace holding every kind of entry, trusted and not.
    static func fill() throws -> (JournaldNamespace, String) {
        try requireJournald()
        let ns = JournaldNamespace(prefix: "rtrust")
        try ns.start()
        let dir = "/tmp/twitchd-trust-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let s = EntrySender(socket: ns.socketPath, dir: dir)
        // Trusted: the twitchd program as root. Ten twitches and an hour at rest.
        // The eleventh is the sixth delivered twice (spool): counted once.
        try s.send((0..<10).map { twitch(Double($0), seq: $0 + 1) } + [twitch(5, seq: 6)])
        try s.send([
            "MESSAGE": "exposure", "MESSAGE_ID": exposureID,
            "TWITCH_EXPOSURE_START_REALTIME_USEC": String(at(0)),
            "TWITCH_EXPOSURE_END_REALTIME_USEC": String(at(60)), "TWITCH_REST_S": "3000.000",
            "TWITCH_ACTIVE_S": "600.000", "TWITCH_NOT_WORN_S": "0.000", "TWITCH_GAP_S": "0.000",
            "TWITCH_SAMPLES_LOST": "0", "TWITCH_LOCATION": "left-calf", "TWITCH_SENSOR": "sim",
            "TWITCH_SEQ": "100",
        ])
        // Forged: another program writing the same fields.
        try s.send((0..<5).map { twitch(Double($0), seq: 200 + $0) }, comm: "forger")
        // The twitchd program run by an untrusted user (nobody).
        try s.send((0..<3).map { twitch(Double($0), seq: 300 + $0) }, uid: 65534)
        // Simulated.
        try s.send((0..<4).map { twitch(Double($0), seq: 400 + $0, simulated: true) })
        _ = ns.waitForEntries(matching: "MESSAGE_ID=\(twitchID)", count: 23)
        return (ns, dir)
    }

    static func read(_ ns: JournaldNamespace, simulated: Bool = false, trust: [Int] = []) throws -> ReportData
    {
        let source = JournalSource.namespace(ns.name)
        return try JournalReader.read(
            source, policy: .standard(for: source, includeSimulated: simulated, extraUIDs: trust),
            sinceUsec: at(-60), untilUsec: at(120))
    }

    @Test func onlyTrustedEntriesCount() throws {
        let (ns, dir) = try Self.fill()
        defer {
            ns.destroy()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let plain = try Self.read(ns)
        #expect(plain.twitches.count == 10)
        #expect(plain.duplicates == 1)
        #expect(plain.untrusted == 8)
        #expect(plain.simulatedSkipped == 4)
        #expect(plain.exposures.count == 1)
        #expect(plain.exposures.first?.rest == 3000)

        let withSim = try Self.read(ns, simulated: true)
        #expect(withSim.twitches.count == 14)
        #expect(withSim.twitches.filter(\.simulated).count == 4)

        let trustingNobody = try Self.read(ns, trust: [65534])
        #expect(trustingNobody.twitches.count == 13)
        #expect(trustingNobody.untrusted == 5)

        // In the system journal only the service counts: the same entries from the twitchd
        // program are not enough there.
        var parser = EntryParser(
            policy: .standard(for: .system, includeSimulated: false), sinceUsec: Int64.min,
            untilUsec: Int64.max)
        for unit in ["", "twitchd.service"] {
            parser.begin()
            let fields =
                ["MESSAGE_ID=\(twitchID)", "TWITCH_ONSET_REALTIME_USEC=1", "_COMM=twitchd", "_UID=0"]
                + (unit.isEmpty ? [] : ["_SYSTEMD_UNIT=\(unit)"])
            for f in fields { Array(f.utf8).withUnsafeBytes { parser.field($0) } }
            parser.end()
        }
        #expect(parser.data.twitches.count == 1)
        #expect(parser.data.untrusted == 1)
    }

    @Test func reportCommandCountsAgainstRestAndLabelsSimulated() throws {
        let twitchd = try requireTwitchdExecutable()
        let (ns, dir) = try Self.fill()
        defer {
            ns.destroy()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let range = ["--since", "2026-11-30 09:00", "--until", "2026-11-30 12:00", "--utc"]
        let (status, out, err) = try runProcess(
            twitchd, ["report", "--namespace", ns.name, "--format", "csv", "--by", "location"] + range)
        #expect(status == 0, "\(err)")
        #expect(out.contains("\nleft-calf,10,0,0.8333,12.000,"), "\(out)")
        let (_, table, _) = try runProcess(
            twitchd, ["report", "--namespace", ns.name, "--simulated"] + range)
        #expect(table.contains("SIMULATED entries included"), "\(table)")
        #expect(table.contains("2026-11-30 (sim)"), "\(table)")
        #expect(table.contains("Left out: 8 untrusted"), "\(table)")
    }

    @Test func theCacheGivesWhatTheJournalHoldsAndReadsOnlyWhatIsNew() throws {
        let (ns, dir) = try Self.fill()
        defer {
            ns.destroy()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let cache = dir + "/cache"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let source = JournalSource.namespace(ns.name)
        let policy = TrustPolicy.standard(for: source, includeSimulated: true)
        func read(_ useCache: Bool) throws -> ReportData {
            setenv("XDG_CACHE_HOME", cache, 1)
            defer { unsetenv("XDG_CACHE_HOME") }
            return try JournalReader.read(
                source, policy: policy, sinceUsec: at(-60), untilUsec: at(120), cache: useCache)
        }
        let direct = try read(false)
        let first = try read(true)
        let cached = try read(true)
        for d in [first, cached] {
            #expect(d.twitches == direct.twitches)
            #expect(d.exposures == direct.exposures)
            #expect(
                d.untrusted == direct.untrusted && d.duplicates == direct.duplicates,
                "\(d.untrusted) \(d.duplicates) \(direct.untrusted) \(direct.duplicates) \(d.simulatedSkipped) \(direct.simulatedSkipped)"
            )
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: cache + "/twitchd/report")
        #expect(!files.isEmpty)
        // Appended entries are read on from the cursor.
        let s = EntrySender(socket: ns.socketPath, dir: dir)
        try s.send(twitch(30, seq: 500))
        _ = ns.waitForEntries(matching: "TWITCH_SEQ=500", count: 1)
        let later = try read(true)
        #expect(later.twitches.count == direct.twitches.count + 1)
        // A damaged cache file is read again from the journal, not trusted.
        for f in files {
            let path = cache + "/twitchd/report/" + f
            try Data("twitchd-report-cache\ngarbage".utf8).write(to: URL(fileURLWithPath: path))
        }
        let again = try read(true)
        #expect(again.twitches.count == later.twitches.count)
    }
}
