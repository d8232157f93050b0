import Daemon
import Foundation
import Journal
import JournalOutput
import TestSupport
import Testing
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// The sequence numbers `run --print` wrote (the `#N` at the end of each line).
func printedSeqs(_ stdout: String) -> [Int] {
    stdout.split(separator: "\n").compactMap { line in
        guard let hash = line.lastIndex(of: "#") else { return nil }
        return Int(line[line.index(after: hash)...])
    }
}

/// The exit status of `process` once it has exited within `seconds`; nil if it is still running
/// (asking a running Process for its status would trap).
func exitStatus(_ process: Twitchd, within seconds: Double) -> Int32? {
    process.waitForExit(seconds) == nil ? nil : process.process.terminationStatus
}

@Suite(.serialized) struct StateDirectoryTests {
    /// The issue's test: SIGKILL (no clean stop, so `last-seq` is never saved the old way) again
    /// and again; no sequence number may ever stand for two events.
    @Test(.enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"))
    func sigkillLoopNeverReusesSequenceNumbers() throws {
        let bin = try requireTwitchd()
        let journal: JournaldNamespace? =
            JournaldNamespace.unavailableReason == nil ? JournaldNamespace(tag: "kill") : nil
        try journal?.start()
        let dir = temporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        writeConfig(dir + "/k.toml", dir: dir, trace: twitchyTrace(), speed: 20, journal: journal?.socket)
        var all: [Int] = []
        for round in 0..<5 {
            let daemon = try Twitchd(
                bin, ["run", "--config", dir + "/k.toml", "--print"], dir: dir, tag: "kill\(round)")
            #expect(waitUntil(15) { printedSeqs(daemon.stdout).count >= 3 }, "no events: \(daemon.stderr)")
            daemon.signal(SIGKILL)
            daemon.process.waitUntilExit()
            let seqs = printedSeqs(daemon.stdout)
            #expect(seqs == Array(seqs.first.map { $0...($0 + seqs.count - 1) } ?? 0...(-1)))
            all += seqs
            if round > 0 {
                #expect(daemon.stderr.contains("did not stop cleanly"))
            }
        }
        #expect(Set(all).count == all.count, "sequence numbers reused: \(all)")
        // A clean stop after the crashes continues after the last reserved block and saves the
        // exact last number.
        let last = try Twitchd(bin, ["run", "--config", dir + "/k.toml", "--print"], dir: dir, tag: "clean")
        #expect(waitUntil(15) { printedSeqs(last.stdout).count >= 1 })
        last.signal(SIGTERM)
        #expect(last.waitForExit(5) != nil)
        let final = printedSeqs(last.stdout)
        #expect(Set(all).isDisjoint(with: final))
        let saved = try String(contentsOfFile: dir + "/state/last-seq", encoding: .utf8)
        #expect(saved.trimmingCharacters(in: .whitespacesAndNewlines) == String(final.last ?? -1))
        if let journal {
            // Every TWITCH_SEQ in the journal stands for one twitch only.
            let entries = journal.entries(matching: "MESSAGE_ID=\(JournalMessageID.twitch)")
            var onsetBySeq: [String: String] = [:]
            for e in entries {
                guard let seq = e["TWITCH_SEQ"] as? String,
                    let onset = e["TWITCH_ONSET_MONOTONIC_USEC"] as? String
                else { continue }
                #expect(onsetBySeq[seq] == nil || onsetBySeq[seq] == onset, "TWITCH_SEQ \(seq) reused")
                onsetBySeq[seq] = onset
            }
            journal.destroy()
        }
    }

    /// A second daemon on the same state directory refuses to start (exit 75, a clear message)
    /// and leaves `last-seq` alone.
    @Test(.enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"))
    func secondDaemonOnTheSameStateDirectoryRefuses() throws {
        let bin = try requireTwitchd()
        let dir = temporaryDirectory("second")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        writeConfig(dir + "/s.toml", dir: dir, trace: twitchyTrace(), speed: 20)
        let first = try Twitchd(bin, ["run", "--config", dir + "/s.toml"], dir: dir, tag: "first")
        #expect(waitUntil(10) { first.stderr.contains("all sensors streaming") })
        let before = try String(contentsOfFile: dir + "/state/last-seq", encoding: .utf8)
        let second = try Twitchd(
            bin, ["run", "--config", dir + "/s.toml", "--event-socket", dir + "/other.sock"], dir: dir,
            tag: "second")
        #expect(exitStatus(second, within: 10) == 75)
        #expect(second.stderr.contains("state directory \(dir)/state is in use by another twitchd"))
        #expect(second.stderr.contains("pid \(first.process.processIdentifier)"))
        #expect(try String(contentsOfFile: dir + "/state/last-seq", encoding: .utf8) == before)
        #expect(first.process.isRunning)
        first.signal(SIGTERM)
        #expect(exitStatus(first, within: 5) == 0)
    }

    /// Another user pre-created the fallback `/tmp/twitchd-UID` (here under TMPDIR) with a
    /// symlink in it: twitchd refuses the directory and never follows the link.
    @Test(
        .enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"),
        .enabled(
            if: Prerequisite.met(getuid() == 0), "needs root to create a directory owned by another user"))
    func hostileFallbackDirectoryIsRefused() throws {
        let bin = try requireTwitchd()
        try #require(getuid() == 0, "needs root to create a directory owned by another user")
        let dir = temporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = dir + "/victim"
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let tmp = dir + "/tmp"
        let hostile = tmp + "/twitchd-\(getuid())"
        #expect(mkdir(tmp, 0o1777) == 0 && chmod(tmp, 0o1777) == 0)
        #expect(mkdir(hostile, 0o777) == 0 && chmod(hostile, 0o777) == 0)
        #expect(mkdir(hostile + "/state", 0o777) == 0)
        #expect(symlink(victim, hostile + "/state/journal.spool") == 0)
        #expect(symlink(victim, hostile + "/state/last-seq") == 0)
        #expect(chown(hostile, 65534, 65534) == 0 && chown(hostile + "/state", 65534, 65534) == 0)
        // The configured state directory cannot be created (below a file), nor the home one.
        writeConfig(dir + "/h.toml", dir: dir, trace: nil, speed: 1)
        let config = try String(contentsOfFile: dir + "/h.toml", encoding: .utf8)
            .replacingOccurrences(of: "\(dir)/state", with: "\(victim)/state")
        try config.write(toFile: dir + "/h.toml", atomically: true, encoding: .utf8)
        let env = ["TMPDIR": tmp, "HOME": victim, "XDG_STATE_HOME": "", "STATE_DIRECTORY": ""]
        let run = try Twitchd(
            bin, ["run", "--config", dir + "/h.toml", "--event-socket", "none"], dir: dir, tag: "hostile",
            environment: env)
        #expect(exitStatus(run, within: 10) == 73)
        #expect(run.stderr.contains("not using \(hostile)/state: \(hostile) belongs to uid 65534"))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")

        // A fresh fallback is made private (0700) and used.
        let fresh = dir + "/fresh"
        #expect(mkdir(fresh, 0o1777) == 0)
        let ok = try Twitchd(
            bin, ["run", "--config", dir + "/h.toml", "--event-socket", "none"], dir: dir, tag: "fresh",
            environment: ["TMPDIR": fresh, "HOME": victim, "XDG_STATE_HOME": "", "STATE_DIRECTORY": ""])
        #expect(waitUntil(10) { ok.stderr.contains("all sensors streaming") }, "\(ok.stderr)")
        ok.signal(SIGTERM)
        #expect(exitStatus(ok, within: 5) == 0)
        var st = stat()
        #expect(lstat(fresh + "/twitchd-\(getuid())", &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(FileManager.default.fileExists(atPath: fresh + "/twitchd-\(getuid())/state/last-seq"))
    }

    /// A state directory that others can write into, or that another user owns, is refused.
    @Test func unsafeStateDirectoryIsRefused() throws {
        let dir = temporaryDirectory("unsafe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = simConfiguration(dir: dir)
        config.eventSocket = nil
        #expect(mkdir(config.stateDirectory, 0o777) == 0 && chmod(config.stateDirectory, 0o777) == 0)
        let daemon = Daemon(configuration: config, options: testOptions())
        do {
            try daemon.start()
            daemon.stop()
            Issue.record("a world-writable state directory was accepted")
        } catch {
            #expect(error.exit == .cantCreate)
            #expect(error.description.contains("writable by group or others"))
        }
        #expect(!FileManager.default.fileExists(atPath: config.stateDirectory + "/last-seq"))
    }

    /// The daemon's own log lines written while journald is away are kept in the state
    /// directory's `log.spool`, not in memory, and the next run delivers them.
    @Test(.enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"))
    func logLinesWrittenWhileJournaldIsAwaySurviveTheExit() throws {
        let bin = try requireTwitchd()
        let dir = temporaryDirectory("logspool")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        writeConfig(dir + "/l.toml", dir: dir, trace: nil, speed: 1)
        let away = try Twitchd(
            bin, ["run", "--config", dir + "/l.toml", "--journal-socket", dir + "/no-journald"], dir: dir,
            tag: "away")
        #expect(waitUntil(10) { away.stderr.contains("all sensors streaming") })
        away.signal(SIGTERM)
        #expect(away.waitForExit(5) != nil)
        let spooled = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/state/log.spool"))) ?? Data()
        #expect(String(decoding: spooled, as: UTF8.self).contains("MESSAGE=all sensors streaming"))
        guard JournaldNamespace.unavailableReason == nil else { return }
        let journal = JournaldNamespace(tag: "logspool")
        try journal.start()
        defer { journal.destroy() }
        let back = try Twitchd(
            bin, ["run", "--config", dir + "/l.toml", "--journal-socket", journal.socket], dir: dir,
            tag: "back")
        let delivered = waitUntil(15) {
            journal.entries(matching: "MESSAGE=all sensors streaming").count >= 2
        }
        #expect(delivered, "the first run's log lines did not reach the journal")
        back.signal(SIGTERM)
        #expect(back.waitForExit(5) != nil)
    }

    /// Spooled events are synced one by one (a power cut while journald is away loses none).
    @Test func spooledEventsAreSyncedPerEntry() throws {
        let dir = temporaryDirectory("fsync")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = simConfiguration(dir: dir)
        config.journal = true
        config.journalSocket = dir + "/no-journald"
        _ = mkdir(config.stateDirectory, 0o700)
        let sink = try #require(JournalSink.make(config, testLogger()) as? JournalSink)
        defer { sink.close() }
        #expect(sink.writer.settings.fsync == .everyEntry)
    }
}
