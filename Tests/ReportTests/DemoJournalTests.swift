import Foundation
import Report
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(
    .serialized,
    .enabled(if: Prerequisite.journald, Comment(rawValue: JournaldNamespace.unavailableReason ?? "")))
struct DemoJournalTests {
    @Test func demoWritesOnlyWhereToldMarkedSimulated() throws {
        try requireJournald()
        let twitchd = try requireTwitchdExecutable()
        // Without --namespace: no journal at all.
        let (s0, _, banner) = try runProcess(
            twitchd,
            ["demo", "--duration", "1s", "--event-socket", "/tmp/twitchd-demo-test-\(getpid()).sock"])
        #expect(s0 == 0, "\(banner)")
        #expect(banner.contains("no journal"), "\(banner)")

        let ns = JournaldNamespace(prefix: "rdemo")
        try ns.start()
        defer { ns.destroy() }
        // The demo runs in a mount namespace of its own with an empty tmpfs over the service's
        // state directory: whatever it wrote there stays visible to this check alone, not
        // disturbed by (or disturbing) other twitchd processes on the machine.
        try? FileManager.default.createDirectory(
            atPath: "/var/lib/twitchd", withIntermediateDirectories: true)
        let demo =
            "\(twitchd) demo --duration 4s --namespace \(ns.name) --exposure-period 1s"
            + " --event-socket /tmp/twitchd-demo-test-\(getpid()).sock"
        let (s1, leftInState, err1) = try runProcess(
            "/usr/bin/unshare",
            [
                "--mount", "sh", "-c",
                "mount -t tmpfs none /var/lib/twitchd && \(demo) >/dev/null && ls -A /var/lib/twitchd",
            ])
        #expect(leftInState.isEmpty, "the demo wrote into /var/lib/twitchd: \(leftInState)")
        #expect(s1 == 0, "\(err1)")
        let (s2, noted, err2) = try runProcess(twitchd, ["note", "caffeine", "--namespace", ns.name])
        #expect(s2 == 0 && noted.hasPrefix("noted caffeine"), "\(err2)")
        let exposures = ns.waitForEntries(matching: "MESSAGE_ID=07cc454edfa24dcead5a9b11faa154fb", count: 3)
        #expect(exposures.count >= 3)
        #expect(exposures.allSatisfy { ($0["TWITCH_SIMULATED"] as? String) == "1" })
        _ = ns.waitForEntries(matching: "MESSAGE_ID=af031bbaa21147288fe49214982afefe", count: 1)

        let (_, plain, _) = try runProcess(
            twitchd, ["report", "--namespace", ns.name, "--since", "today", "--format", "json"])
        #expect(plain.contains("\"total\":{\"key\":\"total\",\"start\":null,\"twitches\":0,"), "\(plain)")
        #expect(!plain.contains("\"simulated\":0}"), "\(plain)")
        #expect(plain.contains("\"kind\":\"caffeine\""), "\(plain)")
        let (_, sim, _) = try runProcess(
            twitchd,
            ["report", "--namespace", ns.name, "--since", "today", "--simulated", "--format", "json"])
        #expect(sim.contains("\"simulated_included\":true"), "\(sim)")
        // About 4 s at rest or moving, all of it accounted for.
        let restOrActive = sim.contains("\"rest_h\":0.00") || sim.contains("\"active_h\":0.00")
        #expect(restOrActive, "\(sim)")
        #expect(
            !sim.contains(
                "\"total\":{\"key\":\"total\",\"start\":null,\"twitches\":0,\"simulated_twitches\":0,\"rest_h\":0.0000,"
            ), "\(sim)")
    }

    @Test func notesCarryTheirOwnTimeKindAndLocation() throws {
        try requireJournald()
        let twitchd = try requireTwitchdExecutable()
        let ns = JournaldNamespace(prefix: "rnote")
        try ns.start()
        defer { ns.destroy() }
        let (s1, _, e1) = try runProcess(
            twitchd,
            [
                "note", "exercise", "--at", "2026-11-30 08:30", "--location", "left-calf", "--namespace",
                ns.name,
            ])
        #expect(s1 == 0, "\(e1)")
        let (s2, _, e2) = try runProcess(
            twitchd, ["note", "magnesium", "400", "mg", "--at", "-2h", "--namespace", ns.name])
        #expect(s2 == 0, "\(e2)")
        // Refused: a time that does not exist, the future, a bad label, both destinations.
        for bad in [
            ["note", "stress", "--at", "2026-02-31", "--namespace", ns.name],
            ["note", "stress", "--at", "+3h", "--namespace", ns.name],
            ["note", "stress", "--location", "left calf!", "--namespace", ns.name],
            ["note", "stress", "--namespace", ns.name, "--journal-socket", ns.socketPath],
        ] {
            let (status, _, _) = try runProcess(twitchd, bad)
            #expect(status == 64, "\(bad)")
        }
        let notes = ns.waitForEntries(matching: "MESSAGE_ID=af031bbaa21147288fe49214982afefe", count: 2)
        #expect(notes.count == 2)
        let exercise = notes.first { ($0["TWITCH_NOTE_KIND"] as? String) == "exercise" }
        #expect(exercise?["TWITCH_LOCATION"] as? String == "left-calf")
        let expected = try #require(ReportCalendar(utc: false).parseMoment("2026-11-30 08:30", now: 0))
        #expect(exercise?["TWITCH_NOTE_REALTIME_USEC"] as? String == String(expected * 1_000_000))
        #expect(exercise?["_UID"] as? String == String(getuid()))
        let text = notes.first { ($0["TWITCH_NOTE_KIND"] as? String) == "text" }
        #expect(text?["TWITCH_NOTE"] as? String == "magnesium 400 mg")
    }
}
