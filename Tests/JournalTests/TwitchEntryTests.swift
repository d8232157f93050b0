import Testing
import TwitchCore

@testable import Journal

@Suite("Twitch journal entries")
struct TwitchEntryTests {
    static let event = TwitchEvent(
        onset: 1234.5678, durationMs: 85.3, peakMg: 12.44, axis: .z, frequencyHz: 11.26, snr: 7.04,
        confidence: 0.876, location: "left-calf")
    static let time = EventTimestamp(realtimeUsec: 1_795_737_000_123_456, monotonicUsec: 1_234_567_800)

    @Test("a twitch entry has a readable message and one field per attribute")
    func twitch() {
        let e = JournalEntry.twitch(Self.event, at: Self.time, sensor: "i2c-1/0x53 adxl345", sequence: 42)
        #expect(e["MESSAGE"] == "twitch left-calf 12.4 mg 85 ms")
        #expect(e["PRIORITY"] == "6")
        #expect(e["SYSLOG_IDENTIFIER"] == "twitchd")
        #expect(e["MESSAGE_ID"] == JournalMessageID.twitch)
        #expect(e["TWITCH_ONSET_REALTIME_USEC"] == "1795737000123456")
        #expect(e["TWITCH_ONSET_MONOTONIC_USEC"] == "1234567800")
        #expect(e["TWITCH_DURATION_MS"] == "85.3")
        #expect(e["TWITCH_PEAK_MG"] == "12.44")
        #expect(e["TWITCH_AXIS"] == "z")
        #expect(e["TWITCH_FREQ_HZ"] == "11.3")
        #expect(e["TWITCH_SNR"] == "7.0")
        #expect(e["TWITCH_CONFIDENCE"] == "0.88")
        #expect(e["TWITCH_LOCATION"] == "left-calf")
        #expect(e["TWITCH_SENSOR"] == "i2c-1/0x53 adxl345")
        #expect(e["TWITCH_SEQ"] == "42")
        // Every name is valid and appears once.
        let names = e.fields.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy(JournalEntry.isValidFieldName))
    }

    @Test("identifier and an empty location are handled")
    func identifierAndLocation() {
        var ev = Self.event
        ev.location = ""
        let e = JournalEntry.twitch(ev, at: Self.time, sensor: "sim", sequence: 0, identifier: "twitchd-demo")
        #expect(e["SYSLOG_IDENTIFIER"] == "twitchd-demo")
        #expect(e["TWITCH_LOCATION"] == "unknown")
        #expect(e["MESSAGE"]?.hasPrefix("twitch unknown ") == true)
    }

    @Test("message ids are distinct 128-bit lowercase hex")
    func ids() {
        let ids = [
            JournalMessageID.twitch, JournalMessageID.rest, JournalMessageID.active, JournalMessageID.notWorn,
            JournalMessageID.sensorLost, JournalMessageID.sensorBack, JournalMessageID.overrun,
            JournalMessageID.spoolOverflow,
        ]
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.count == 32)
            #expect(id.allSatisfy { "0123456789abcdef".contains($0) })
        }
        #expect(Set(LimbState.allCases.map(JournalMessageID.limbState)).count == LimbState.allCases.count)
    }

    @Test("state, sensor and overrun entries carry their ids and fields")
    func otherEntries() {
        for state in LimbState.allCases {
            let e = JournalEntry.limbState(state, at: Self.time, location: "right-calf", sensor: "s")
            #expect(e["MESSAGE_ID"] == JournalMessageID.limbState(state))
            #expect(e["TWITCH_STATE"] == state.rawValue)
            #expect(e["TWITCH_STATE_REALTIME_USEC"] == "1795737000123456")
            #expect(e["TWITCH_LOCATION"] == "right-calf")
        }
        let lost = JournalEntry.sensorLost(location: "left-calf", sensor: "i2c-1/0x53", reason: "EREMOTEIO")
        #expect(lost["MESSAGE_ID"] == JournalMessageID.sensorLost)
        #expect(lost["PRIORITY"] == "4")
        #expect(lost["TWITCH_REASON"] == "EREMOTEIO")
        let back = JournalEntry.sensorBack(location: "left-calf", sensor: "i2c-1/0x53", downtimeSeconds: 3.25)
        #expect(back["MESSAGE_ID"] == JournalMessageID.sensorBack)
        #expect(back["TWITCH_DOWNTIME_S"] == "3.3")
        let over = JournalEntry.overrun(location: "left-calf", sensor: "s", stage: "acquisition", dropped: 17)
        #expect(over["MESSAGE_ID"] == JournalMessageID.overrun)
        #expect(over["TWITCH_DROPPED"] == "17")
        #expect(over["TWITCH_STAGE"] == "acquisition")
    }

    @Test("a monotonic time maps to the wall clock through the current offset")
    func timestamps() {
        let now = EventTimestamp.now()
        let twoSecondsAgo = EventTimestamp.monotonic(seconds: Double(now.monotonicUsec) / 1e6 - 2)
        let diff = Int64(now.realtimeUsec) - Int64(twoSecondsAgo.realtimeUsec)
        #expect(abs(diff - 2_000_000) < 50_000)
        #expect(now.monotonicUsec - twoSecondsAgo.monotonicUsec > 1_990_000)
    }
}
