import Daemon
import Testing
import TwitchCore

@Suite struct PrinterTests {
    func event(_ kind: DaemonEvent.Kind, seq: UInt64 = 7) -> DaemonEvent {
        DaemonEvent(
            seq: seq, kind: kind, location: "left-calf", sensor: "sim:adxl345@0x53", monotonicUsec: 5_000_000,
            realtimeUsec: 1_780_000_000_000_000, emittedMonotonicUsec: 6_000_000)
    }

    @Test func twitchLineShowsLocationSizeDurationAxisAndSeq() throws {
        let t = TwitchEvent(
            onset: 5, durationMs: 84.6, peakMg: 12.44, axis: .y, frequencyHz: 17.2, snr: 6, confidence: 0.91,
            location: "left-calf")
        let line = try #require(EventPrinter(color: false).line(jsonLine: event(.twitch(t)).jsonLine))
        #expect(line.contains("left-calf"))
        #expect(line.contains("twitch"))
        #expect(line.contains("12.4 mg"))
        #expect(line.contains("85 ms"))
        #expect(line.contains("y"))
        #expect(line.contains("17 Hz"))
        #expect(line.contains("conf 0.91"))
        #expect(line.hasSuffix("#7"))
        #expect(!line.contains("\u{1B}["))
    }

    @Test func everyKindPrints() {
        let p = EventPrinter(color: false)
        #expect(p.line(event(.state(.rest))).contains("at rest"))
        #expect(p.line(event(.state(.active))).contains("moving"))
        #expect(
            p.line(event(.sensorLost(detail: "bus error (EIO)"))).contains("sensor lost: bus error (EIO)"))
        #expect(p.line(event(.sensorBack)).contains("sensor back"))
        #expect(p.line(event(.overrun(lostSamples: 12, stage: "chip"))).contains("12 samples lost (chip)"))
    }

    @Test func eventAndItsJSONLinePrintTheSame() {
        let t = TwitchEvent(
            onset: 5, durationMs: 120.4, peakMg: 55.5, axis: .x, frequencyHz: 22.6, snr: 9, confidence: 0.66,
            location: "left-calf")
        let kinds: [DaemonEvent.Kind] = [
            .twitch(t), .state(.rest), .state(.active), .state(.notWorn), .sensorLost(detail: "EIO \"bus\""),
            .sensorBack, .overrun(lostSamples: 3, stage: "ring"),
        ]
        for color in [false, true] {
            let p = EventPrinter(color: color)
            for kind in kinds {
                let e = event(kind, seq: 42)
                #expect(p.line(e) == p.line(jsonLine: e.jsonLine), "\(kind)")
            }
        }
    }

    @Test func colourOnlyWhenAsked() {
        let line = EventPrinter(color: true).line(event(.sensorBack))
        #expect(line.contains("\u{1B}[1;32m"))
    }

    @Test func unknownOrBrokenLinesAreSkipped() {
        let p = EventPrinter(color: false)
        #expect(p.line(jsonLine: "not json") == nil)
        #expect(p.line(jsonLine: "{\"type\":\"from-the-future\",\"seq\":1}") == nil)
        #expect(p.line(jsonLine: "{\"seq\":1}") == nil)
        // Missing fields print with defaults rather than dropping the event.
        #expect(p.line(jsonLine: "{\"type\":\"sensor-back\"}")?.contains("sensor back") == true)
    }

    @Test func pathParts() {
        #expect(Paths.directory(of: "/run/twitchd/events.sock") == "/run/twitchd")
        #expect(Paths.directory(of: "/events.sock") == "/")
        #expect(Paths.directory(of: "events.sock") == "")
        #expect(Paths.directory(of: "/run//twitchd//events.sock") == "/run//twitchd")
        #expect(Paths.directory(of: "/run/twitchd/") == "/run")
        #expect(Paths.fileName(of: "/run/twitchd/events.sock") == "events.sock")
        #expect(Paths.fileName(of: "events.sock") == "events.sock")
        #expect(Paths.fileName(of: "/run/twitchd/") == "twitchd")
        #expect(Paths.fileName(of: "/") == "/")
    }
}

/// Lines from an event socket can hold any number: the tail view never traps on them.
@Suite struct PrinterHostileInputTests {
    @Test func hugeAndNonFiniteNumbersPrint() {
        let p = EventPrinter(color: false)
        let line = p.line(
            jsonLine:
                #"{"type":"twitch","seq":1,"peak_mg":1e300,"duration_ms":-1e300,"freq_hz":1e19,"confidence":1e308}"#
        )
        #expect(line?.contains("twitch") == true)
        let state = p.line(jsonLine: #"{"type":"state","time_realtime_usec":-9223372036854775808}"#)
        #expect(state != nil)
    }
}
