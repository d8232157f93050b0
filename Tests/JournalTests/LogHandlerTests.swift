import Logging
import Testing

@testable import Journal

@Suite("JournalLogHandler")
struct LogHandlerTests {
    @Test("levels map to syslog priorities")
    func priorities() {
        let expected: [(Logger.Level, Int)] = [
            (.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ]
        for (level, p) in expected {
            #expect(JournalLogHandler.priority(for: level).rawValue == p)
        }
    }

    @Test("metadata keys become valid field names")
    func fieldNames() {
        #expect(JournalLogHandler.fieldName(forMetadataKey: "sensor") == "SENSOR")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "i2c.bus") == "I2C_BUS")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "rate-hz") == "RATE_HZ")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "message") == "META_MESSAGE")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "1st") == "META_1ST")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "_pid") == "META__PID")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "") == "META_")
        let long = JournalLogHandler.fieldName(forMetadataKey: String(repeating: "k", count: 100))
        #expect(long.count == 64 && JournalEntry.isValidFieldName(long))
    }

    @Test("a log message becomes one entry with priority, code location and metadata fields")
    func logsToJournal() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path)
        let writer = try JournalWriter(.init(socketPath: sock.path, retryInterval: nil))
        defer { writer.close() }
        var logger = Logger(label: "twitchd.daemon") {
            JournalLogHandler(label: $0, writer: writer, identifier: "twitchd-test", level: .debug)
        }
        logger[metadataKey: "sensor"] = "i2c-1/0x53"
        logger.warning("sensor slow\nretrying", metadata: ["retry": "3"])
        logger.trace("not logged at debug level")
        let d = try #require(sock.receive())
        let e = try JournalEntry(decoding: d.bytes)
        #expect(e["MESSAGE"] == "sensor slow\nretrying")
        #expect(e["PRIORITY"] == "4")
        #expect(e["SYSLOG_IDENTIFIER"] == "twitchd-test")
        #expect(e["LOGGER"] == "twitchd.daemon")
        #expect(e["SENSOR"] == "i2c-1/0x53")
        #expect(e["RETRY"] == "3")
        #expect(e["CODE_FILE"]?.hasSuffix("LogHandlerTests.swift") == true)
        #expect(e["CODE_LINE"].flatMap { Int($0) } != nil)
        #expect(e["CODE_FUNC"] != nil)
        #expect(sock.receive(timeout: 0.2) == nil)
    }
}
