import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Many wearers through systemd's own engine: two daemons with two wearers write two journal
/// namespaces (two Pis), two systemd-journal-upload processes send them to one
/// systemd-journal-remote on loopback (plain HTTP here; docs/many-wearers.md sets up TLS), and
/// one `twitchd report --directory ... --by machine` shows both wearers.
@Suite(
    .serialized,
    .enabled(if: Prerequisite.journald, Comment(rawValue: JournaldNamespace.unavailableReason ?? "")))
struct ManyWearersTests {
    static let remote = ["/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"]
        .first { (p: String) in access(p, X_OK) == 0 }
    static let upload = ["/lib/systemd/systemd-journal-upload", "/usr/lib/systemd/systemd-journal-upload"]
        .first { (p: String) in access(p, X_OK) == 0 }

    /// Runs `twitchd run` for a simulated wearer writing into `ns` for a few seconds.
    static func runDaemon(_ twitchd: String, wearer: String, ns: JournaldNamespace, dir: String) throws {
        let config = dir + "/\(wearer).toml"
        try """
        [daemon]
        wearer = "\(wearer)"
        state_directory = "\(dir)/state-\(wearer)"

        [output]
        journal_socket = "\(ns.socketPath)"
        event_socket = "none"

        [[sensor]]
        bus = "sim:adxl355"
        location = "left-calf"
        rate = 250
        speed = 10
        twitches_per_minute = 30
        episodes_per_hour = 0

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: twitchd)
        p.arguments = ["run", "--config", config, "--log-level", "warning"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(4_000_000)
        p.terminate()
        p.waitUntilExit()
    }

    /// Where journald keeps the namespace's files.
    static func journalDirectory(_ ns: JournaldNamespace) -> String? {
        let id = ((try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return ["/var/log/journal/\(id).\(ns.name)", "/run/log/journal/\(id).\(ns.name)"]
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// What both many-wearer tests need (journald namespaces, journal-remote and -upload, the
    /// twitchd binary), or a thrown error naming what is missing.
    static func tools() throws -> (remote: String, upload: String, twitchd: String) {
        try requireJournald()
        guard let remote, let upload else { throw PrerequisiteMissing(Self.journalRemoteMissing) }
        return (remote, upload, try requireTwitchdExecutable())
    }

    /// For `.enabled(if:)`: systemd-journal-remote and -upload are installed (or required).
    static let journalRemote = Prerequisite.met(remote != nil && upload != nil)
    static let journalRemoteMissing =
        "needs systemd-journal-remote and -upload (apt-get install systemd-journal-remote)"

    /// A new working folder, `/tmp/twitchd-TAG-...`, with `remote/` for what the collector receives.
    static func workFolder(_ tag: String) throws -> (dir: String, received: String) {
        let dir = "/tmp/twitchd-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/remote", withIntermediateDirectories: true)
        return (dir, dir + "/remote")
    }

    /// Two wearers' machines: a journald namespace each (`PREFIXa`, `PREFIXb`), written by a
    /// `twitchd run` with that wearer until its exposure entry is in. The caller destroys them.
    static func twoWearers(
        _ wearers: (String, String), prefix: String, twitchd: String, dir: String
    ) throws -> (JournaldNamespace, JournaldNamespace) {
        let a = JournaldNamespace(prefix: prefix + "a")
        let b = JournaldNamespace(prefix: prefix + "b")
        do {
            try a.start()
            try b.start()
            try runDaemon(twitchd, wearer: wearers.0, ns: a, dir: dir)
            try runDaemon(twitchd, wearer: wearers.1, ns: b, dir: dir)
        } catch {
            a.destroy()
            b.destroy()
            throw error
        }
        let exposureID = "MESSAGE_ID=07cc454edfa24dcead5a9b11faa154fb"
        #expect(!a.waitForEntries(matching: exposureID, count: 1).isEmpty)
        #expect(!b.waitForEntries(matching: exposureID, count: 1).isEmpty)
        return (a, b)
    }

    /// `twitchd report --directory RECEIVED --by machine --format csv` (simulated entries
    /// counted): the CSV and its lines.
    static func reportByMachine(_ twitchd: String, _ received: String) throws -> (String, [String]) {
        let (status, csv, err) = try runProcess(
            twitchd,
            [
                "report", "--directory", received, "--by", "machine", "--simulated", "--since", "today",
                "--format", "csv",
            ])
        #expect(status == 0, "\(err)")
        return (csv, csv.split(separator: "\n").map(String.init))
    }

    @Test(.enabled(if: journalRemote, Comment(rawValue: journalRemoteMissing)))
    func oneReportOverTwoUploadedWearers() throws {
        let (remote, upload, twitchd) = try Self.tools()
        let (dir, received) = try Self.workFolder("wearers")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (a, b) = try Self.twoWearers(("p01", "p02"), prefix: "rw", twitchd: twitchd, dir: dir)
        defer {
            a.destroy()
            b.destroy()
        }

        // The collecting machine.
        let port = Int.random(in: 20_000...60_000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: remote)
        server.arguments = [
            "--listen-http=127.0.0.1:\(port)", "--output=\(received)/all.journal", "--split-mode=none",
        ]
        server.standardOutput = FileHandle.nullDevice
        let serverLog = Pipe()
        server.standardError = serverLog
        try server.run()
        defer {
            if server.isRunning {
                server.terminate()
                server.waitUntilExit()
            }
        }
        usleep(500_000)
        // Each wearer's machine uploads its journal.
        for (i, ns) in [a, b].enumerated() {
            let source = try #require(Self.journalDirectory(ns), "no journal files for \(ns.name)")
            let (status, _, err) = try runProcess(
                upload,
                [
                    "--url=http://127.0.0.1:\(port)", "--directory=\(source)", "--follow=no",
                    "--save-state=\(dir)/upload-state-\(i)",
                ])
            #expect(status == 0, "\(err)")
        }
        server.terminate()
        server.waitUntilExit()

        let (csv, lines) = try Self.reportByMachine(twitchd, received)
        let p01 = lines.first { $0.hasPrefix("p01,") }
        let p02 = lines.first { $0.hasPrefix("p02,") }
        #expect(p01 != nil && p02 != nil, "\(csv)")
        // Both wearers have rest time from their daemons' exposure entries.
        for line in [p01, p02].compactMap({ $0 }) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            #expect(fields.count == 10 && (Double(fields[3]) ?? 0) + (Double(fields[5]) ?? 0) > 0, "\(line)")
        }
        let (_, table, _) = try runProcess(
            twitchd,
            ["report", "--directory", received, "--by", "machine", "--simulated", "--since", "today"])
        #expect(table.contains("wearer/machine"), "\(table)")
    }
}
