import Daemon
import Foundation
import Journal
import JournalOutput
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension JournaldNamespace {
    convenience init(tag: String) { self.init(prefix: "twitchd-\(tag)-") }

    var socket: String { socketPath }

    /// Entries of this namespace with `MESSAGE_ID`, as JSON objects, oldest first.
    func entries(messageID: String) -> [[String: Any]] {
        entries(matching: "MESSAGE_ID=\(messageID)")
    }

    /// Twitch entries once journald holds at least `count` of them (or after 5 s), oldest first.
    func twitchEntries(atLeast count: Int) -> [[String: Any]] {
        waitForEntries(matching: "MESSAGE_ID=\(JournalMessageID.twitch)", count: count, seconds: 5)
    }

    /// `TWITCH_SEQ` of the twitch entries, once there are at least `count` (or after 5 s).
    func twitchSeqs(atLeast count: Int) -> [String] {
        twitchEntries(atLeast: count).compactMap { $0["TWITCH_SEQ"] as? String }
    }
}

/// A journald namespace, a scratch directory, and a started daemon on one simulated sensor
/// (`left-calf`) writing to that journal, with a collector beside it.
struct JournaledRun {
    let journal: JournaldNamespace
    let dir: String
    let collector = Collector()
    let config: DaemonConfiguration
    let daemon: Daemon

    /// Throws where journald cannot run here.
    init(tag: String, seed: UInt64, speed: Double) throws {
        try requireJournald()
        journal = JournaldNamespace(tag: tag)
        try journal.start()
        dir = temporaryDirectory("j\(tag)")
        var c = simConfiguration(dir: dir, sensors: [("left-calf", seed)], speed: speed)
        c.journal = true
        c.journalSocket = journal.socket
        config = c
        daemon = Daemon(configuration: c, options: testOptions(extra: [collector.sink]))
        try daemon.start()
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: dir) }
}

@Suite(
    .serialized,
    .enabled(if: Prerequisite.journald, Comment(rawValue: JournaldNamespace.unavailableReason ?? "")))
struct JournalEndToEndTests {
    /// Every event the daemon emitted is in the journal with all its fields.
    @Test func everyEventReachesJournaldWithItsFields() throws {
        let run = try JournaledRun(tag: "e2e", seed: 4, speed: 8)
        defer { run.cleanUp() }
        let (journal, collector, daemon) = (run.journal, run.collector, run.daemon)
        // A tail client that never reads, its buffers kept full: it must not delay the journal.
        let stuck = try #require(RawClient(path: daemon.eventSocketPath ?? ""))
        let filler = String(repeating: "x", count: 4000)
        for _ in 0..<60 { daemon.eventSocket?.publish(line: "{\"type\":\"filler\",\"pad\":\"\(filler)\"}") }
        #expect(waitUntil(10) { collector.count >= 8 })
        daemon.stop()
        _ = stuck
        let sent = collector.twitches
        let got = journal.twitchEntries(atLeast: sent.count)
        #expect(got.count == sent.count)
        for (event, entry) in zip(sent, got) {
            guard case .twitch(let t) = event.kind else { continue }
            let fields = event.journalEntry
            #expect(entry["TWITCH_SEQ"] as? String == String(event.seq))
            #expect(entry["MESSAGE"] as? String == event.message)
            #expect(entry["PRIORITY"] as? String == "6")
            #expect(entry["SYSLOG_IDENTIFIER"] as? String == "twitchd")
            #expect(entry["TWITCH_LOCATION"] as? String == "left-calf")
            #expect(entry["TWITCH_AXIS"] as? String == t.axis.rawValue)
            for key in [
                "TWITCH_ONSET_REALTIME_USEC", "TWITCH_ONSET_MONOTONIC_USEC", "TWITCH_DURATION_MS",
                "TWITCH_PEAK_MG",
                "TWITCH_FREQ_HZ", "TWITCH_SNR", "TWITCH_CONFIDENCE", "TWITCH_SENSOR",
            ] {
                #expect(entry[key] as? String == fields[key], "\(key)")
                #expect(fields[key] != nil, "\(key)")
            }
            #expect((entry["MESSAGE"] as? String)?.hasPrefix("twitch left-calf ") == true)
            // journald received it promptly after the detector emitted it.
            let received = (entry["__MONOTONIC_TIMESTAMP"] as? String).flatMap(UInt64.init) ?? 0
            #expect(received >= event.emittedMonotonicUsec)
            #expect(
                received - event.emittedMonotonicUsec < 200_000,
                "journal latency \(received - event.emittedMonotonicUsec) us")
        }
    }

    /// A reload that rebuilds the outputs (new event socket) loses no event on the way to journald.
    @Test func reloadRebuildingOutputsLosesNothing() throws {
        let run = try JournaledRun(tag: "reload", seed: 6, speed: 10)
        defer { run.cleanUp() }
        let (journal, dir, collector, daemon) = (run.journal, run.dir, run.collector, run.daemon)
        var config = run.config
        // (Seed 6 has its third event about 12 s in since the simulated rest rocks with the pulse.)
        #expect(waitUntil(30) { collector.count >= 3 })
        var moved = config
        moved.eventSocket = dir + "/moved.sock"
        for _ in 0..<3 {
            try daemon.reload(moved)
            swap(&moved, &config)
            usleep(300_000)
        }
        let client = try #require(RawClient(path: daemon.eventSocketPath ?? ""))
        let atReload = collector.count
        #expect(waitUntil(10) { collector.count >= atReload + 3 })
        client.pump(0.5)
        daemon.stop()
        client.pump(0.2)
        #expect(!client.seqs.isEmpty)
        let sent = collector.twitchSeqs
        #expect(journal.twitchSeqs(atLeast: sent.count) == sent)
    }

    /// journald stopped mid-run and started again: no event lost, order kept.
    @Test func journaldRestartLosesNothing() throws {
        let run = try JournaledRun(tag: "restart", seed: 5, speed: 8)
        defer { run.cleanUp() }
        let (journal, collector, daemon) = (run.journal, run.collector, run.daemon)
        #expect(waitUntil(10) { collector.count >= 3 })
        journal.stop()
        let atStop = collector.count
        #expect(waitUntil(10) { collector.count >= atStop + 4 })
        try journal.start()
        #expect(waitUntil(10) { collector.count >= atStop + 7 })
        daemon.stop()
        let sent = collector.twitchSeqs
        #expect(journal.twitchSeqs(atLeast: sent.count) == sent)
    }
}

@Suite(
    .serialized,
    .enabled(if: Prerequisite.journald, Comment(rawValue: JournaldNamespace.unavailableReason ?? "")))
struct BinaryJournalTests {
    /// `twitchd run` on the simulated bus playing a labelled trace into a journald namespace: the
    /// journal holds exactly the twitches `twitchd replay` finds in the same trace (same detector,
    /// same samples), each with every field, in order; and most labelled detectable twitches.
    @Test(.enabled(if: twitchdAndTraces, "needs the built twitchd and shared/data/traces"))
    func runOnLabelledTraceMatchesReplayInTheJournal() throws {
        try requireJournald()
        let bin = try requireTwitchd()
        let trace = try requireTrace()
        let journal = JournaldNamespace(tag: "bin")
        try journal.start()
        let dir = temporaryDirectory("binjournal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        writeConfig(dir + "/j.toml", dir: dir, trace: trace, speed: 400, journal: "/dev/null")
        let daemon = try Twitchd(
            bin, ["run", "--config", dir + "/j.toml", "--journal-socket", journal.socket], dir: dir,
            tag: "run")
        // The trace lasts 406 s; the daemon says when it has played it all.
        #expect(waitUntil(120) { daemon.stderr.contains("trace played to the end") }, "\(daemon.stderr)")
        usleep(300_000)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(3) != nil)
        #expect(daemon.process.terminationStatus == 0)
        let entries = journal.entries(messageID: JournalMessageID.twitch)

        let replay = try Twitchd(bin, ["replay", "--format", "jsonl", trace], dir: dir, tag: "replay")
        replay.process.waitUntilExit()
        let expected = jsonObjects(replay.stdout.split(separator: "\n").map(String.init))
        #expect(!expected.isEmpty)
        #expect(entries.count == expected.count)
        let required = [
            "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "TWITCH_ONSET_REALTIME_USEC",
            "TWITCH_ONSET_MONOTONIC_USEC",
            "TWITCH_DURATION_MS", "TWITCH_PEAK_MG", "TWITCH_AXIS", "TWITCH_FREQ_HZ", "TWITCH_SNR",
            "TWITCH_CONFIDENCE", "TWITCH_LOCATION", "TWITCH_SENSOR", "TWITCH_SEQ",
        ]
        let firstOnset = entries.first.flatMap {
            ($0["TWITCH_ONSET_MONOTONIC_USEC"] as? String).flatMap(Double.init)
        }
        let firstOffset = expected.first?["offset_s"] as? Double
        var previousSeq = 0
        for (entry, want) in zip(entries, expected) {
            for key in required { #expect(entry[key] != nil, "missing \(key)") }
            #expect(entry["PRIORITY"] as? String == "6")
            #expect(entry["SYSLOG_IDENTIFIER"] as? String == "twitchd")
            #expect(entry["TWITCH_LOCATION"] as? String == "left-calf")
            #expect(entry["TWITCH_AXIS"] as? String == want["axis"] as? String)
            let peak = (entry["TWITCH_PEAK_MG"] as? String).flatMap(Double.init) ?? -1
            #expect(abs(peak - (want["peak_mg"] as? Double ?? -100)) < 0.02)
            // Onsets: the same spacing as replay's (the daemon's clock starts elsewhere).
            if let firstOnset, let firstOffset,
                let onset = (entry["TWITCH_ONSET_MONOTONIC_USEC"] as? String).flatMap(Double.init),
                let offset = want["offset_s"] as? Double
            {
                #expect(abs((onset - firstOnset) / 1e6 - (offset - firstOffset)) < 0.002)
            }
            let seq = Int(entry["TWITCH_SEQ"] as? String ?? "") ?? 0
            #expect(seq > previousSeq)
            previousSeq = seq
            let message = entry["MESSAGE"] as? String ?? ""
            #expect(message.hasPrefix("twitch left-calf ") && message.hasSuffix(" ms"))
        }
    }
}
