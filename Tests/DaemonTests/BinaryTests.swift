import Daemon
import Foundation
import Journal
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `twitchd` process with its output in files.
final class Twitchd {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(
        _ binary: String, _ arguments: [String], dir: String, tag: String, environment: [String: String] = [:]
    )
        throws
    {
        stdoutPath = "\(dir)/\(tag).out"
        stderrPath = "\(dir)/\(tag).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = nil
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits up to `timeout` seconds for exit; returns the seconds it took, or nil.
    func waitForExit(_ timeout: Double) -> Double? {
        let start = Date()
        guard waitUntil(timeout, { !self.process.isRunning }) else { return nil }
        return Date().timeIntervalSince(start)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// A configuration file playing `trace` (or the simulator) `speed` times faster than real time.
func writeConfig(
    _ path: String, dir: String, trace: String?, speed: Double, extraSensor: Bool = false,
    journal: String? = nil, missingBus: Bool = false
) {
    var text = """
        [[sensor]]
        bus = "sim:adxl355"
        location = "left-calf"
        speed = \(speed)

        """
    if let trace { text += "trace = \"\(trace)\"\n" } else { text += "seed = 11\nrate = 1000\n" }
    if extraSensor {
        text += """

            [[sensor]]
            bus = "sim:lis3dh"
            rate = 400
            location = "right-calf"
            seed = 5
            speed = \(speed)

            """
    }
    if missingBus {
        text += """

            [[sensor]]
            bus = "/dev/i2c-99"
            location = "right-calf"

            """
    }
    text += """

        [output]
        journal = \(journal != nil)
        journal_socket = "\(journal ?? "/run/systemd/journal/socket")"
        event_socket = "\(dir)/events.sock"

        [daemon]
        state_directory = "\(dir)/state"
        """
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

/// A twitchy labelled development trace, if the shared data is present.
func twitchyTrace() -> String? {
    guard let dir = sharedTraces() else { return nil }
    let p = dir + "/dev04-adxl355-500hz-calf.csv.gz"
    return FileManager.default.fileExists(atPath: p) ? p : nil
}

func jsonObjects(_ lines: [String]) -> [[String: Any]] {
    lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
}

@Suite(.serialized) struct BinaryTests {
    @Test(.enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"))
    func configCheckNamesFileLineAndKey() throws {
        let bin = try requireTwitchd()
        let dir = temporaryDirectory("check")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = dir + "/bad.toml"
        try """
        [[sensor]]
        bus = "/dev/i2c-1"
        rate = "fast"
        location = "left-calf"
        colour = "red"

        [output]
        event_socket = "relative.sock"
        """.write(toFile: bad, atomically: true, encoding: .utf8)
        let run = try Twitchd(bin, ["config", "check", bad], dir: dir, tag: "bad")
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus == 78)
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(bad):3: sensor[0].rate: expected a number, found a string"))
        #expect(lines.contains { $0.hasPrefix("\(bad):5: sensor[0].colour: unknown key") })
        #expect(lines.contains("\(bad):8: output.event_socket: expected an absolute path, or \"none\""))
        #expect(lines.contains("3 errors in \(bad)"))

        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/twitchd.toml").path
        let ok = try Twitchd(bin, ["config", "check", example], dir: dir, tag: "ok")
        ok.process.waitUntilExit()
        #expect(ok.process.terminationStatus == 0)
        #expect(ok.stdout.contains("OK, 1 sensor"))
    }

    /// SIGTERM while events stream: exit 0 within a second, every event flushed to the socket
    /// clients, the journal and the state file.
    @Test(.enabled(if: twitchdAndTraces, "needs the built twitchd and shared/data/traces"))
    func sigtermDuringStreamingExitsCleanlyWithEverythingFlushed() throws {
        let bin = try requireTwitchd()
        let trace = try requireTrace()
        let journal: JournaldNamespace? =
            JournaldNamespace.unavailableReason == nil ? JournaldNamespace(tag: "term") : nil
        try journal?.start()
        let dir = temporaryDirectory("term")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        writeConfig(dir + "/t.toml", dir: dir, trace: trace, speed: 20, journal: journal?.socket)
        let daemon = try Twitchd(bin, ["run", "--config", dir + "/t.toml"], dir: dir, tag: "run")
        #expect(waitUntil(5) { FileManager.default.fileExists(atPath: dir + "/events.sock") })
        let client = try #require(RawClient(path: dir + "/events.sock"))
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline && client.seqs.count < 5 { client.pump(0.1) }
        #expect(client.seqs.count >= 5, "no events: \(daemon.stderr)")
        daemon.signal(SIGTERM)
        let took = daemon.waitForExit(3)
        #expect(took != nil && took! < 1.0, "took \(String(describing: took))")
        #expect(daemon.process.terminationStatus == 0)
        client.pump(0.3)
        let seqs = client.seqs
        #expect(seqs == Array(1...max(1, seqs.last ?? 0)))
        let saved = try String(contentsOfFile: dir + "/state/last-seq", encoding: .utf8)
        #expect(saved.trimmingCharacters(in: .whitespacesAndNewlines) == String(seqs.last ?? 0))
        #expect(!FileManager.default.fileExists(atPath: dir + "/events.sock"))
        if let journal {
            let twitchSeqs = jsonObjects(client.lines).filter { $0["type"] as? String == "twitch" }
                .compactMap { ($0["seq"] as? Int).map(String.init) }
            #expect(journal.twitchSeqs(atLeast: twitchSeqs.count) == twitchSeqs)
        }
    }

    /// SIGHUP: an invalid file keeps the old configuration; a valid one adds a sensor while the
    /// first keeps streaming; sequence numbers never skip.
    @Test(.enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"))
    func sighupReloads() throws {
        let bin = try requireTwitchd()
        let dir = temporaryDirectory("hup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/h.toml"
        writeConfig(config, dir: dir, trace: twitchyTrace(), speed: 20)
        let daemon = try Twitchd(bin, ["run", "--config", config], dir: dir, tag: "hup")
        #expect(waitUntil(5) { daemon.stderr.contains("all sensors streaming") })
        let client = try #require(RawClient(path: dir + "/events.sock"))
        try "[[sensor]]\nbus = 3\n".write(toFile: config, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(waitUntil(5) { daemon.stderr.contains("keeping the previous configuration") })
        #expect(daemon.stderr.contains("\(config):2: sensor[0].bus: expected a string"))
        #expect(daemon.process.isRunning)
        writeConfig(config, dir: dir, trace: twitchyTrace(), speed: 20, extraSensor: true)
        daemon.signal(SIGHUP)
        #expect(waitUntil(5) { daemon.stderr.contains("configuration reloaded") })
        #expect(daemon.stderr.contains("starting sensor sim/lis3dh"))
        #expect(!daemon.stderr.contains("stopping sensor sim/adxl355"))
        client.pump(3)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(3) != nil)
        #expect(daemon.process.terminationStatus == 0)
        client.pump(0.3)
        let seqs = client.seqs
        if let last = seqs.last { #expect(seqs == Array(seqs[0]...last)) }
    }

    /// `run` with one working sensor and one on a bus that does not exist: it starts, says READY
    /// once the working one streams, reports the other lost (stderr/journal, STATUS) and keeps
    /// running; it used to exit 69 and stop the working sensor.
    @Test(.enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"))
    func runStartsWithTheSensorsThatWorkAndReportsTheOthersLost() throws {
        let bin = try requireTwitchd()
        let dir = temporaryDirectory("partialbin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try #require(NotifyListener(path: dir + "/notify.sock"))
        let config = dir + "/p.toml"
        writeConfig(config, dir: dir, trace: twitchyTrace(), speed: 20, missingBus: true)
        let daemon = try Twitchd(
            bin, ["run", "--config", config], dir: dir, tag: "partial",
            environment: ["NOTIFY_SOCKET": listener.path])
        #expect(waitUntil(5) { FileManager.default.fileExists(atPath: dir + "/events.sock") })
        let client = try #require(RawClient(path: dir + "/events.sock"))
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline
            && !jsonObjects(client.lines).contains(where: { $0["type"] as? String == "twitch" })
        {
            client.pump(0.1)
        }
        listener.pump(1.5)
        #expect(daemon.process.isRunning, "exited: \(daemon.stderr)")
        // (The sensor-lost event itself is published before a client can connect: the live
        // socket serves what comes after; stderr stands for the journal here.)
        #expect(
            jsonObjects(client.lines).contains {
                $0["type"] as? String == "twitch" && $0["location"] as? String == "left-calf"
            })
        #expect(daemon.stderr.contains("sensor i2c-99/auto auto (right-calf) lost"))
        let texts = listener.messages.map(\.text)
        #expect(texts.contains { $0.hasPrefix("READY=1") })
        #expect(texts.contains { $0.contains("STATUS=") && $0.contains("right-calf lost") })
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(3) != nil)
        #expect(daemon.process.terminationStatus == 0)
    }

    /// SIGHUP with a configuration `config check` accepts but whose sensor cannot start (its bus
    /// is missing): the reload is refused as a whole, the old sensor keeps streaming, and the
    /// journal (stderr here) and STATUS say so. It used to stop the old sensor first.
    @Test(.enabled(if: twitchdBuilt, "needs the built twitchd (swift build)"))
    func sighupWithASensorThatCannotStartKeepsTheOldOne() throws {
        let bin = try requireTwitchd()
        let dir = temporaryDirectory("huptxn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let listener = try #require(NotifyListener(path: dir + "/notify.sock"))
        let config = dir + "/h.toml"
        writeConfig(config, dir: dir, trace: nil, speed: 20)
        let daemon = try Twitchd(
            bin, ["run", "--config", config], dir: dir, tag: "huptxn",
            environment: ["NOTIFY_SOCKET": listener.path])
        #expect(waitUntil(5) { daemon.stderr.contains("all sensors streaming") })
        let client = try #require(RawClient(path: dir + "/events.sock"))
        try """
        [[sensor]]
        bus = "/dev/i2c-99"
        location = "left-calf"

        [output]
        journal = false
        event_socket = "\(dir)/events.sock"

        [daemon]
        state_directory = "\(dir)/state"
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let check = try Twitchd(bin, ["config", "check", config], dir: dir, tag: "check")
        check.process.waitUntilExit()
        #expect(check.process.terminationStatus == 0, "\(check.stderr)")
        daemon.signal(SIGHUP)
        #expect(waitUntil(5) { daemon.stderr.contains("keeping the previous configuration") })
        #expect(daemon.stderr.contains("/dev/i2c-99"))
        #expect(!daemon.stderr.contains("configuration reloaded"))
        #expect(!daemon.stderr.contains("stopping sensor"))
        client.pump(0.5)
        let before = client.lines.count
        client.pump(2)
        #expect(client.lines.count > before, "the old sensor stopped streaming")
        #expect(!jsonObjects(client.lines).contains { $0["type"] as? String == "sensor-lost" })
        listener.pump(0.3)
        #expect(
            listener.messages.map(\.text).contains { $0.contains("STATUS=") && $0.contains("reload refused") }
        )
        #expect(daemon.process.isRunning)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(3) != nil)
        #expect(daemon.process.terminationStatus == 0)
    }

    /// `twitchd tail`: waits for the daemon, follows it across a restart, exits 0 on a closed pipe.
    @Test(.enabled(if: twitchdAndTraces, "needs the built twitchd and shared/data/traces"))
    func tailFollowsRestartsAndExitsOnClosedPipe() throws {
        let bin = try requireTwitchd()
        let trace = try requireTrace()
        let dir = temporaryDirectory("tailbin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        writeConfig(dir + "/t.toml", dir: dir, trace: trace, speed: 20)
        let tail = try Twitchd(
            bin, ["tail", "--json", "--socket", dir + "/events.sock"], dir: dir, tag: "tail")
        #expect(waitUntil(3) { tail.stderr.contains("waiting for the daemon") })
        var daemon = try Twitchd(bin, ["run", "--config", dir + "/t.toml"], dir: dir, tag: "run1")
        #expect(waitUntil(15) { tail.stdout.split(separator: "\n").count >= 2 })
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(3) != nil)
        #expect(waitUntil(3) { tail.stderr.contains("reconnecting") })
        let before = tail.stdout.split(separator: "\n").count
        daemon = try Twitchd(bin, ["run", "--config", dir + "/t.toml"], dir: dir, tag: "run2")
        #expect(waitUntil(15) { tail.stdout.split(separator: "\n").count > before })
        #expect(tail.process.isRunning)
        tail.signal(SIGINT)
        #expect(tail.waitForExit(2) != nil)
        #expect(tail.process.terminationStatus == 0)

        // A closed pipe: `twitchd tail | head -1`. The shell returns only when tail has exited too;
        // with pipefail its status is tail's.
        let sh = try Twitchd(
            "/bin/bash", ["-c", "set -o pipefail; '\(bin)' tail --socket '\(dir)/events.sock' | head -1"],
            dir: dir, tag: "pipe")
        #expect(sh.waitForExit(20) != nil)
        #expect(sh.process.terminationStatus == 0)
        #expect(sh.stdout.contains("twitch"))
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(3) != nil)
    }
}
