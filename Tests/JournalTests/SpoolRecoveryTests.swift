import Foundation
import Glibc
import Testing

@testable import Journal

@Suite("Spool recovery")
struct SpoolRecoveryTests {
    /// The case: one damaged record in the middle used to discard every later one.
    @Test("damage in the middle costs only the damaged record; the loss is its own entry")
    func damageInTheMiddle() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try spoolWithNoJournald(entries: 48, in: dir)
        let spoolPath = dir.path + "/journal.spool"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: spoolPath)))
        let records = SpoolRecovery.scan(bytes).records
        try #require(records.count == 48)
        // Overwrite a few bytes inside record 4's payload (its CRC no longer matches).
        let hit = records[4].offset + records[4].length / 2
        for i in hit..<(hit + 8) { bytes[i] = 0xAA }
        try Data(bytes).write(to: URL(fileURLWithPath: spoolPath))

        let sock = try TestSocket(directory: dir.path)
        let writer = try JournalWriter(.init(socketPath: path, spoolDirectory: dir.path, retryInterval: nil))
        defer { writer.close() }
        #expect(writer.statistics.pendingEntries == 48, "47 intact entries and the damage notice")
        let got = collect(sock, writer).compactMap { try? JournalEntry(decoding: $0.bytes) }
        #expect(got.compactMap { $0["TWITCH_SEQ"].flatMap { Int($0) } } == (0..<48).filter { $0 != 4 })
        let notice = try #require(got.last)
        #expect(notice["MESSAGE_ID"] == JournalMessageID.spoolDamaged)
        #expect(notice["TWITCH_SPOOL_KEPT"] == "47")
        #expect(notice["TWITCH_SPOOL_DAMAGED_REGIONS"] == "1")
        #expect(
            notice["TWITCH_SPOOL_DAMAGED_BYTES"] == String(records[4].length + FileSpool.recordHeaderSize))
        #expect(notice["PRIORITY"] == "4")
    }

    @Test("garbage before, between and after records: every intact record is found")
    func scanResynchronises() {
        func record(_ payload: [UInt8]) -> [UInt8] {
            var r: [UInt8] = [UInt8(ascii: "T"), UInt8(ascii: "J")]
            appendLittleEndian32(UInt32(payload.count), to: &r)
            appendLittleEndian32(crc32(payload), to: &r)
            return r + payload
        }
        let a = record(Array("MESSAGE=a\n".utf8))
        let b = record(Array("MESSAGE=bb\n".utf8))
        // A header that claims a record but whose CRC is wrong, and a lone "TJ" near the end.
        var fake = record(Array("MESSAGE=x\n".utf8))
        fake[fake.count - 2] ^= 0xFF
        let bytes = Array("TJ junk".utf8) + a + fake + b + Array("TJ".utf8)
        let scan = SpoolRecovery.scan(bytes)
        #expect(scan.records.map(\.length) == [a.count - 10, b.count - 10])
        #expect(scan.damaged.map(\.start) == [0, 7 + a.count, 7 + a.count + fake.count + b.count])
        #expect(scan.damagedBytes == 7 + fake.count + 2)
    }

    @Test("random bytes never trap and the ranges found tile the input")
    func randomInput() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let n = Int.random(in: 0..<400, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Plenty of "TJ" so that headers get parsed.
            for i in stride(from: 0, to: max(0, n - 1), by: 17) {
                bytes[i] = UInt8(ascii: "T")
                bytes[i + 1] = UInt8(ascii: "J")
            }
            let scan = SpoolRecovery.scan(bytes)
            let covered = scan.damagedBytes + scan.records.reduce(0) { $0 + $1.length + 10 }
            #expect(covered == n)
        }
    }

    @Test("a planted symlink in place of the spool is refused, its target untouched")
    func symlinkRefused() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let victim = dir.path + "/victim"
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
        #expect(symlink(victim, dir.path + "/journal.spool") == 0)
        #expect(throws: SystemError.self) {
            _ = try JournalWriter(
                .init(socketPath: dir.path + "/socket", spoolDirectory: dir.path, retryInterval: nil))
        }
        #expect((try? String(contentsOfFile: victim, encoding: .utf8)) == "precious\n")
        // The position file too.
        unlink(dir.path + "/journal.spool")
        #expect(symlink(victim, dir.path + "/journal.spool.pos") == 0)
        #expect(throws: SystemError.self) {
            _ = try JournalWriter(
                .init(socketPath: dir.path + "/socket", spoolDirectory: dir.path, retryInterval: nil))
        }
        #expect((try? String(contentsOfFile: victim, encoding: .utf8)) == "precious\n")
    }
}
