import Foundation
import TestSupport
import Testing
import TwitchCore

@testable import Report

#if canImport(Glibc)
    import Glibc
#endif

/// Reading a journal of several files: sd-journal over the whole namespace, each file on its own
/// (one thread or several, with or without the cache) and the cache afterwards give the same.
@Suite(.serialized) struct ParallelReadTests {
    func note(_ minutes: Double, kind: String) -> [String: String] {
        [
            "MESSAGE": "note", "MESSAGE_ID": "af031bbaa21147288fe49214982afefe",
            "TWITCH_NOTE_REALTIME_USEC": String(at(minutes)), "TWITCH_NOTE_KIND": kind,
            "TWITCH_NOTE": "\(kind) at \(minutes)", "TWITCH_LOCATION": "left-calf",
        ]
    }

    func exposure(_ minutes: Double, rest: Int, sensor: String = "sim") -> [String: String] {
        [
            "MESSAGE": "exposure", "MESSAGE_ID": exposureID,
            "TWITCH_EXPOSURE_START_REALTIME_USEC": String(at(minutes)),
            "TWITCH_EXPOSURE_END_REALTIME_USEC": String(at(minutes + 10)), "TWITCH_REST_S": "\(rest).000",
            "TWITCH_ACTIVE_S": "\(600 - rest).000", "TWITCH_NOT_WORN_S": "0.000", "TWITCH_GAP_S": "0.000",
            "TWITCH_SAMPLES_LOST": "0", "TWITCH_LOCATION": "left-calf", "TWITCH_SENSOR": sensor,
        ]
    }

    /// A record as text, for comparing collections whose order may differ.
    func lines<T>(_ records: [T]) -> [String] { records.map { "\($0)" }.sorted() }

    @Test(.enabled(if: Prerequisite.journald, Comment(rawValue: JournaldNamespace.unavailableReason ?? "")))
    func everyWayOfReadingSeveralJournalFilesGivesTheSame() throws {
        try requireJournald()
        let ns = JournaldNamespace(prefix: "rpar")
        try ns.start()
        let dir = "/tmp/twitchd-par-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            ns.destroy()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let s = EntrySender(socket: ns.socketPath, dir: dir)
        func rotate() throws {
            let (status, _, err) = try runProcess(
                "/usr/bin/journalctl", ["--namespace", ns.name, "--rotate"])
            #expect(status == 0, "\(err)")
        }
        // Three journal files: two archived, one active. Twitch 6 is delivered again (spool) in
        // the second file, an exposure period again in the third.
        // Built in steps: Swift 6.0.3 under emulation gave up type-checking the one-expression
        // form in its time limit (the arm64 test build).
        var first: [[String: String]] = (0..<8).map { twitch(Double($0), seq: $0 + 1) }
        first += [exposure(0, rest: 500), note(1, kind: "caffeine")]
        try s.send(first)
        _ = ns.waitForEntries(matching: "MESSAGE_ID=\(twitchID)", count: 8)
        try rotate()
        var second: [[String: String]] = [twitch(5, seq: 6)]
        second += (8..<20).map { twitch(Double($0), seq: $0 + 1) }
        second += (0..<3).map { twitch(Double($0) + 0.5, seq: 400 + $0, simulated: true) }
        second += [exposure(10, rest: 450), exposure(10, rest: 300, sensor: "other")]
        second.append(note(12, kind: "exercise"))
        try s.send(second)
        try s.send((0..<3).map { twitch(Double($0), seq: 200 + $0) }, comm: "forger")
        _ = ns.waitForEntries(matching: "MESSAGE_ID=\(twitchID)", count: 8 + 16 + 3)
        try rotate()
        try s.send(
            (20..<30).map { twitch(Double($0), seq: $0 + 1) } + [
                exposure(10, rest: 450), exposure(20, rest: 400),
            ])
        _ = ns.waitForEntries(matching: "MESSAGE_ID=\(twitchID)", count: 8 + 16 + 3 + 10)

        let source = JournalSource.namespace(ns.name)
        let files = JournalReader.journalFiles(source) ?? []
        #expect(files.count >= 3, "\(files)")
        let policy = TrustPolicy.standard(for: source, includeSimulated: true)
        let since = at(-60)
        let until = at(120)
        let cache = dir + "/cache"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let direct = try JournalReader.readDirect(source, policy: policy, sinceUsec: since, untilUsec: until)
        #expect(direct.twitches.count == 33)
        #expect(direct.duplicates == 2)
        #expect(direct.untrusted == 3)
        #expect(direct.exposures.count == 4)
        #expect(direct.notes.count == 2)
        var settings = ReportSettings()
        settings.source = source
        settings.sinceUsec = since
        settings.untilUsec = until
        settings.utc = true
        settings.includeSimulated = true
        let expected = Report(direct, settings: settings)
        let ways: [(String, String?, Int)] = [
            ("one file at a time", nil, 1), ("two at a time", nil, 2), ("one per CPU", nil, 0),
            ("first read into the cache", cache, 2), ("from the cache", cache, 2),
            ("from the cache, one thread", cache, 1),
        ]
        for (name, cacheDirectory, threads) in ways {
            let d = try JournalReader.read(
                source, policy: policy, sinceUsec: since, untilUsec: until, cacheDirectory: cacheDirectory,
                threads: threads)
            #expect(lines(d.twitches) == lines(direct.twitches), "\(name)")
            #expect(lines(d.exposures) == lines(direct.exposures), "\(name)")
            #expect(lines(d.notes) == lines(direct.notes), "\(name)")
            let counts: [Int] = [d.untrusted, d.duplicates, d.simulatedSkipped, d.malformed]
            let expectedCounts: [Int] = [
                direct.untrusted, direct.duplicates, direct.simulatedSkipped, direct.malformed,
            ]
            #expect(counts == expectedCounts, "\(name)")
            let report = Report(d, settings: settings)
            #expect(report.table() == expected.table(), "\(name)")
            #expect(report.json() == expected.json(), "\(name)")
        }
        let cached = try FileManager.default.contentsOfDirectory(atPath: cache)
        #expect(cached.count == files.count, "\(cached)")
    }

    @Test func aMissingJournalFileIsAnErrorWithOrWithoutTheCache() throws {
        let dir = "/tmp/twitchd-par-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = JournalSource.files([dir + "/missing.journal"])
        let policy = TrustPolicy.standard(for: source, includeSimulated: false)
        for cacheDirectory in [nil, dir] {
            // Before, with the cache, a missing file gave an empty report.
            var exit: SysExit?
            do {
                _ = try JournalReader.read(
                    source, policy: policy, sinceUsec: nil, untilUsec: nil, cacheDirectory: cacheDirectory,
                    threads: 0)
            } catch {
                exit = error.exit
            }
            #expect(exit == .noInput, "cache \(cacheDirectory ?? "none")")
        }
    }
}
