import Daemon
import Detector
import Foundation
import Sensors
import Testing

@Suite struct ConfigTests {
    @Test func exampleConfigIsValid() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/twitchd.toml")
        let c = try ConfigLoader.load(path: url.path)
        #expect(c.sensors.count == 1)
        #expect(c.sensors[0].location == "left-calf")
        #expect(c.sensors[0].interrupt == "GPIO17")
        #expect(c.eventSocket == "/run/twitchd/events.sock")
        #expect(c.sensitivity == .normal)
    }

    @Test func parsesEveryField() throws {
        let text = """
            [[sensor]]
            bus = "/dev/i2c-1"
            address = 0x1D
            chip = "ADXL355"
            rate = 1000
            range = 4
            interrupt = "none"
            location = "left-calf"

            [[sensor]]
            bus = "sim:lis3dh"
            location = "right-calf"
            seed = 7
            speed = 2.5
            twitches_per_minute = 20
            episodes_per_hour = 0

            [detector]
            sensitivity = 0.8

            [output]
            journal = false
            journal_socket = "/run/systemd/journal.x/socket"
            event_socket = "none"

            [daemon]
            state_directory = "/tmp/s"
            realtime_priority = 10
            lock_memory = true
            """
        let c = try ConfigLoader.parse(text, file: "t.toml")
        #expect(c.sensors.count == 2)
        #expect(c.sensors[0].address == .fixed(0x1D))
        #expect(c.sensors[0].chip == ChipName("adxl355"))
        #expect(c.sensors[0].rate == 1000)
        #expect(c.sensors[0].rangeG == 4)
        #expect(c.sensors[0].interrupt == nil)
        #expect(c.sensors[1].seed == 7)
        #expect(c.sensors[1].speed == 2.5)
        #expect(c.sensors[1].twitchesPerMinute == 20)
        #expect(c.sensors[1].episodesPerHour == 0)
        #expect(c.sensitivity == Sensitivity(0.8))
        #expect(!c.journal)
        #expect(c.journalSocket == "/run/systemd/journal.x/socket")
        #expect(c.eventSocket == nil)
        #expect(c.stateDirectory == "/tmp/s")
        #expect(c.realtimePriority == 10)
        #expect(c.lockMemory)
    }

    @Test func everyErrorNamesFileLineAndKey() {
        let text = """
            [[sensor]]
            bus = "/dev/i2c-1"
            adress = 0x1D
            chip = "adxl354"
            rate = 99999
            location = "left calf"

            [[sensor]]
            bus = "i2c-1"
            location = "right-calf"
            seed = 3
            range = 3

            [detector]
            sensitivity = "extreme"

            [output]
            jornal = true
            """
        do {
            _ = try SensorConfigurations.parse(text, file: "bad.toml")
            Issue.record("expected errors")
        } catch {
            let found = error.issues.map { "\($0.line) \($0.key ?? "-")" }
            #expect(
                found == [
                    "3 sensor[0].adress", "4 sensor[0].chip", "5 sensor[0].rate", "6 sensor[0].location",
                    "9 sensor[1].bus", "11 sensor[1].seed", "12 sensor[1].range", "15 detector.sensitivity",
                    "18 output.jornal",
                ])
            #expect(error.issues.allSatisfy { $0.file == "bad.toml" })
            let text = error.description
            #expect(text.contains("bad.toml:3: sensor[0].adress: unknown key; did you mean `address`?"))
            #expect(text.contains("did you mean `adxl355`?"))
            #expect(text.contains("output.jornal: unknown key; did you mean `journal`?"))
        }
    }

    @Test func syntaxErrorHasLineAndColumn() {
        let text = "[[sensor]]\nbus = \"/dev/i2c-1\nlocation = \"x\"\n"
        do {
            _ = try ConfigLoader.parse(text, file: "s.toml")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.issues.count == 1)
            #expect(error.issues[0].line == 2)
            #expect(error.issues[0].column != nil)
            #expect(error.issues[0].description.hasPrefix("s.toml:2:"))
        }
    }

    @Test func missingSensorsAndKeysAreErrors() {
        #expect(throws: ConfigErrors.self) { try ConfigLoader.parse("[detector]\n", file: "e.toml") }
        do {
            _ = try ConfigLoader.parse("[[sensor]]\nrate = 800\n", file: "m.toml")
        } catch {
            #expect(error.issues.map(\.message).joined().contains("missing key `bus`"))
            #expect(error.issues.map(\.message).joined().contains("missing key `location`"))
            #expect(error.issues.allSatisfy { $0.line == 1 })
        }
    }

    @Test func duplicateDevicesAndLabels() {
        let text = """
            [[sensor]]
            bus = "/dev/i2c-1"
            address = 0x1D
            location = "calf"
            [[sensor]]
            bus = "/dev/i2c-1"
            address = 0x1D
            location = "calf"
            """
        do {
            _ = try ConfigLoader.parse(text, file: "d.toml")
            Issue.record("expected errors")
        } catch {
            #expect(error.issues.map(\.line) == [7, 8])
        }
    }

    @Test func missingFileIsReported() {
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/twitchd.toml")
        } catch {
            #expect(error.description.contains("/nonexistent/twitchd.toml: the file does not exist"))
        }
    }
}
