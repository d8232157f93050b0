import Testing
import TwitchCore

@testable import Journal

@Suite("Native protocol encoding")
struct EncodingTests {
    @Test("field names follow journald's rules")
    func fieldNames() {
        for good in ["MESSAGE", "A", "TWITCH_PEAK_MG", "X1", "A_B_C_9", String(repeating: "A", count: 64)] {
            #expect(JournalEntry.isValidFieldName(good), "\(good) should be valid")
        }
        for bad in [
            "", "_PID", "__CURSOR", "1ABC", "9", "message", "Message", "TWITCH-PEAK", "A B", "A=B", "A\nB",
            "ÄB",
            String(repeating: "A", count: 65),
        ] {
            #expect(!JournalEntry.isValidFieldName(bad), "\(bad) should be invalid")
        }
    }

    @Test("add rejects an invalid name and keeps the entry unchanged")
    func addRejects() throws {
        var e = JournalEntry()
        try e.add("GOOD", "1")
        #expect(throws: JournalEntryError.invalidFieldName("_TRUSTED")) { try e.add("_TRUSTED", "x") }
        #expect(throws: JournalEntryError.invalidFieldName("lower")) { try e.add("lower", bytes: [1]) }
        #expect(e.fields.count == 1)
    }

    @Test("plain values are KEY=VALUE lines")
    func plain() throws {
        var e = JournalEntry()
        try e.add("MESSAGE", "hello world")
        try e.add("PRIORITY", "6")
        try e.add("EMPTY", "")
        #expect(e.encoded() == Array("MESSAGE=hello world\nPRIORITY=6\nEMPTY=\n".utf8))
    }

    @Test("a value with a newline or NUL uses the binary form with an explicit little-endian length")
    func binary() throws {
        var e = JournalEntry()
        let value: [UInt8] = Array("two\nlines".utf8)
        try e.add("TEXT", bytes: value)
        let bin: [UInt8] = [0, 1, 2, 0x0A, 0xFF, 0x3D]
        try e.add("BLOB", bytes: bin)
        var expected: [UInt8] = Array("TEXT\n".utf8) + [9, 0, 0, 0, 0, 0, 0, 0] + value + [0x0A]
        expected += Array("BLOB\n".utf8) + [6, 0, 0, 0, 0, 0, 0, 0] + bin + [0x0A]
        #expect(e.encoded() == expected)
    }

    @Test("lengths above 255 are encoded byte by byte, least significant first")
    func longLength() throws {
        var e = JournalEntry()
        let value = [UInt8](repeating: 0x0A, count: 0x0102_03)
        try e.add("BIG", bytes: value)
        let enc = e.encoded()
        #expect(Array(enc[4..<12]) == [0x03, 0x02, 0x01, 0, 0, 0, 0, 0])
        #expect(enc.count == 4 + 8 + value.count + 1)
    }

    @Test("encode then decode gives the same entry, in order, with repeated names")
    func roundTrip() throws {
        var e = JournalEntry(message: "line1\nline2", priority: .warning)
        try e.add("REPEAT", "a")
        try e.add("REPEAT", "b")
        try e.add("RAW", bytes: [0, 0x0A, 0x0A, 0x3D, 0x80])
        try e.add("EQUALS", "a=b=c")
        let decoded = try JournalEntry(decoding: e.encoded())
        #expect(decoded == e)
        #expect(decoded.values(of: "REPEAT") == ["a", "b"])
        #expect(decoded["MESSAGE"] == "line1\nline2")
    }

    @Test("decoding rejects truncated or malformed input")
    func malformed() {
        let cases: [[UInt8]] = [
            Array("MESSAGE=unterminated".utf8),
            Array("NOEQUALS".utf8),
            Array("BIN\n".utf8) + [5, 0, 0],
            Array("BIN\n".utf8) + [50, 0, 0, 0, 0, 0, 0, 0] + Array("short\n".utf8),
            Array("BIN\n".utf8) + [2, 0, 0, 0, 0, 0, 0, 0] + Array("abX".utf8),
            Array("lower=x\n".utf8),
        ]
        for c in cases {
            #expect(throws: JournalEntryError.self) { try JournalEntry(decoding: c) }
        }
    }

    @Test("set replaces every earlier value")
    func setReplaces() throws {
        var e = JournalEntry(message: "m")
        try e.add("X", "1")
        try e.add("X", "2")
        try e.set("X", "3")
        #expect(e.values(of: "X") == ["3"])
    }

    @Test("decimals are formatted without locale and rounded half away from zero")
    func decimals() {
        #expect(formatDecimal(12.44, digits: 1) == "12.4")
        #expect(formatDecimal(12.46, digits: 1) == "12.5")
        #expect(formatDecimal(0.25, digits: 1) == "0.3")
        #expect(formatDecimal(0.05, digits: 2) == "0.05")
        #expect(formatDecimal(-3.14159, digits: 3) == "-3.142")
        #expect(formatDecimal(-0.0001, digits: 2) == "0.00")
        #expect(formatDecimal(7, digits: 0) == "7")
        #expect(formatDecimal(1234.5, digits: 2) == "1234.50")
        #expect(formatDecimal(.nan, digits: 1) == "nan")
        #expect(formatDecimal(-.infinity, digits: 1) == "-inf")
    }
}
