import Foundation
import Testing
import TwitchCore

@testable import Traces

/// What real loggers write: duplicate stamps, NaN and empty cells, small backward steps, short
/// rows, headers without units, nanosecond clocks, quoted cells (issue 9 section 3, issue 10).
@Suite("TraceReader on real loggers' files")
struct TolerantInputTests {
    func read(_ text: String, _ options: TraceReadOptions = TraceReadOptions(), name: String = "t.csv") throws
        -> (TraceReader, [Sample], TraceError?)
    {
        let path = try writeFile(try temporaryDirectory(), name, text)
        var reader = try TraceReader(path: path, options: options)
        var out: [Sample] = []
        do {
            while let s = try reader.next() { out.append(s) }
        } catch {
            return (reader, out, error)
        }
        return (reader, out, nil)
    }

    static let damaged = """
        time_s,ax_g,ay_g,az_g
        0,0,0,1
        0.01,0,0,1
        0.01,0,0,1
        0.02,nan,0,1
        0.03,0,,1
        0.04,0,0,1
        0.035,0,0,1
        0.05,0,0
        0.06,0,0,1

        """

    @Test func damagedRowsAreSkippedCountedAndNamed() throws {
        let (reader, samples, error) = try read(Self.damaged)
        #expect(error == nil)
        #expect(samples.map(\.time) == [0, 0.01, 0.04, 0.06].map { $0 })
        let skipped = reader.skipped
        #expect(skipped[.duplicateTime] == 1)
        #expect(skipped[.missingValue] == 2)
        #expect(skipped[.backwardTime] == 1)
        #expect(skipped[.shortRow] == 1)
        #expect(skipped.total == 5)
        #expect(skipped.firstLine[.duplicateTime] == 4)
        #expect(skipped.firstLine[.missingValue] == 5)
        #expect(skipped.firstLine[.backwardTime] == 8)
        #expect(skipped.firstLine[.shortRow] == 9)
        #expect(skipped.description.hasPrefix("5 rows skipped: 1 duplicate timestamp (line 4)"))
        #expect(skipped.description.contains("2 empty or NaN cells (first at line 5)"))
    }

    @Test func strictRefusesTheFirstDamagedRow() throws {
        let (reader, samples, error) = try read(Self.damaged, TraceReadOptions(strict: true))
        #expect(samples.count == 2)
        #expect(error?.kind == .nonMonotonic)
        #expect(error?.line == 4)
        #expect(reader.skipped.total == 0)
    }

    @Test func aBigStepBackIsStillAnError() throws {
        var text = "time_s,ax_g,ay_g,az_g\n"
        for i in 0..<10 { text += "\(Double(i) / 100 + 5),0,0,1\n" }
        text += "3.5,0,0,1\n5.2,0,0,1\n"
        let (_, samples, error) = try read(text)
        #expect(samples.count == 10)
        #expect(error?.kind == .nonMonotonic)
        #expect(error?.line == 12)
        #expect(error?.message.contains("jumps back") == true)
    }

    @Test func textInACellIsStillNotATrace() throws {
        let (_, samples, error) = try read("time_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n0.02,0,abc,1\n")
        #expect(samples.count == 2)
        #expect(error?.kind == .badCell)
        #expect(error?.line == 4)
    }

    @Test func phyphoxSevenDigitDuplicatesAreSkipped() throws {
        // 400 Hz after 10000 s written with 7 significant digits (10 ms): equal stamps are certain.
        var text =
            "\"Time (s)\",\"Acceleration x (m/s^2)\",\"Acceleration y (m/s^2)\",\"Acceleration z (m/s^2)\"\n"
        var written: [String] = []
        for i in 0..<6000 {
            let t = 10_000.0 + Double(i) / 400
            let stamp = String(format: "%.6E", t)
            written.append(stamp)
            text += "\(stamp),0.1,0.2,9.8\n"
        }
        let duplicates = zip(written, written.dropFirst()).filter { $0 == $1 }.count
        #expect(duplicates > 1000)
        let (reader, samples, error) = try read(text)
        #expect(error == nil)
        #expect(reader.skipped[.duplicateTime] == duplicates)
        #expect(samples.count == 6000 - duplicates)
    }

    @Test func gravityDecidesTheUnitOfAnUnnamedHeader() throws {
        func rows(_ g: Double) -> String {
            var text = "time,x,y,z\n"
            for i in 0..<500 { text += "\(Double(i) / 100),\(0.1 * g),\(0.2 * g),\(0.97 * g)\n" }
            return text
        }
        let (ms2, s1, _) = try read(rows(9.80665))
        #expect(ms2.units == .metersPerSecondSquared)
        #expect(ms2.unitsNote?.contains("m/s^2") == true)
        #expect(abs(s1[0].acceleration.z - 0.97) < 1e-9)
        let (g, s2, _) = try read(rows(1))
        #expect(g.units == .g)
        #expect(g.unitsNote?.contains("gravity in g") == true)
        #expect(abs(s2[0].acceleration.z - 0.97) < 1e-9)
        let (mg, s3, _) = try read(rows(1000))
        #expect(mg.units == .milliG)
        #expect(abs(s3[0].acceleration.z - 0.97) < 1e-9)
        // --units wins over the gravity check.
        let (forced, s4, _) = try read(rows(1), TraceReadOptions(units: .metersPerSecondSquared))
        #expect(forced.units == .metersPerSecondSquared)
        #expect(abs(s4[0].acceleration.z - 0.97 / 9.80665) < 1e-9)
        // A header that names its unit is believed.
        let (named, _, _) = try read(
            rows(9.80665).replacingOccurrences(of: "time,x,y,z", with: "time_s,ax_g,ay_g,az_g"))
        #expect(named.units == .g)
        #expect(named.unitsNote == nil)
    }

    @Test func sensorLoggerNanosecondTimeAndMetersPerSecondSquared() throws {
        // The Sensor Logger app: time in Unix nanoseconds, seconds_elapsed, axes z,y,x in m/s^2.
        var text = "time,seconds_elapsed,z,y,x\n"
        let t0: Int64 = 1_700_000_000_123_456_789
        for i in 0..<1000 {
            let ns = t0 + Int64(i) * 10_000_000
            text += "\(ns),\(Double(i) / 100),9.7,0.5,-0.3\n"
        }
        let (reader, samples, error) = try read(text)
        #expect(error == nil)
        #expect(abs(reader.sampleRate - 100) < 0.01)
        #expect(reader.timeNote?.contains("ns") == true)
        #expect(reader.units == .metersPerSecondSquared)
        #expect(abs((reader.startTime ?? 0) - 1_700_000_000.123) < 0.001)
        #expect(abs(samples[999].time - 9.99) < 1e-6)
        #expect(abs(samples[0].acceleration.z - 9.7 / 9.80665) < 1e-9)
    }

    @Test func millisecondTimeColumn() throws {
        var text = "timestamp,ax_g,ay_g,az_g\n"
        for i in 0..<400 { text += "\(i * 5),0,0,1\n" }
        let (reader, samples, error) = try read(text)
        #expect(error == nil)
        #expect(abs(reader.sampleRate - 200) < 1e-6)
        #expect(reader.timeNote?.contains("ms") == true)
        #expect(abs(samples[399].time - 1.995) < 1e-9)
    }

    @Test func metadataIsBounded() throws {
        var text = ""
        for i in 0...TraceReader.maxMetadataLines { text += "# key\(i)=value\n" }
        text += "time_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n"
        let path = try writeFile(try temporaryDirectory(), "m.csv", text)
        #expect(throws: TraceError.self) { try TraceReader(path: path) }
        do {
            _ = try TraceReader(path: path)
        } catch {
            #expect(error.kind == .badMetadata)
            #expect(error.line == TraceReader.maxMetadataLines + 1)
        }
        let long = "# note=" + String(repeating: "x", count: TraceReader.maxMetadataBytes) + "\n"
        let path2 = try writeFile(
            try temporaryDirectory(), "l.csv", long + "time_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n")
        #expect(throws: TraceError.self) { try TraceReader(path: path2) }
    }

    @Test func quotedCellsAreHonouredOrRefused() throws {
        // A spreadsheet export with decimal commas in quotes: never read as other numbers.
        let path = try writeFile(
            try temporaryDirectory(), "q.csv",
            "t,ax_g,ay_g,az_g\n0,\"0,5\",\"0,1\",\"1,0\"\n0.01,\"0,5\",\"0,1\",\"1,0\"\n")
        var kind: TraceError.Kind? = nil
        var line: Int? = nil
        do {
            var r = try TraceReader(path: path)
            while try r.next() != nil {}
        } catch {
            kind = error.kind
            line = error.line
        }
        #expect(kind == .badCell)
        #expect(line == 2)
        // Quoted numbers and a quoted text column holding the delimiter are read correctly.
        let (_, good, e2) = try read(
            "label,t,ax_g,ay_g,az_g\n\"a, b\",\"0\",\"0.5\",0.1,1\n\"c,d\",0.01,\"0.25\", \"0.2\" ,1\n")
        #expect(e2 == nil)
        #expect(good.count == 2)
        #expect(good[1] == Sample(time: 0.01, x: 0.25, y: 0.2, z: 1))
        // An unterminated quote names its line.
        let (_, _, e3) = try read("t,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n0.02,\"0,0,1\n")
        #expect(e3?.kind == .badCell)
        #expect(e3?.line == 4)
    }

    @Test func absoluteTimesOutsideTheYears0To9999AreRefusedOrClamped() throws {
        let path = try writeFile(
            try temporaryDirectory(), "s.csv",
            "# start_unix=1e16\ntime_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n")
        var kind: TraceError.Kind? = nil
        do { _ = try TraceReader(path: path) } catch { kind = error.kind }
        #expect(kind == .badMetadata)
        // Formatting never traps, whatever arithmetic produced the time.
        #expect(RFC3339.format(1e16) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(-1e300) == "0000-01-01T00:00:00.000Z")
        #expect(RFC3339.format(.nan) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(.infinity).hasPrefix("9999-"))
    }
}

@Suite("TraceSimulator settings")
struct SimulatorSettingTests {
    /// A library caller (not only `twitchd simulate`) gets an error, not a trap, for a duration
    /// whose sample count overflows Int.
    @Test func hugeDurationIsRefused() {
        var c = SimulationConfiguration()
        c.duration = 1e17
        c.rate = 1000
        #expect(throws: SimulationError.self) { try TraceSimulator(configuration: c) }
    }
}

@Suite("TraceReader time rounding")
struct TimeRoundingTests {
    /// Found by the fuzzer: two distinct timestamps near 1e16 s give the same time after
    /// subtracting the first; samples must still come out strictly increasing.
    @Test func timesThatRoundTogetherCountAsDuplicates() throws {
        let text = """
            time_s,ax_g,ay_g,az_g
            100000000000001,0,0,1
            17000000001334568,0,0,1
            17000000001334570,0,0,1
            17000000001334580,0,0,1

            """
        let path = try writeFile(try temporaryDirectory(), "r.csv", text)
        let (reader, samples, error) = try readAll(path)
        #expect(error == nil)
        #expect(samples.count == 3)
        #expect(zip(samples, samples.dropFirst()).allSatisfy { $0.time < $1.time })
        #expect(reader.skipped[.duplicateTime] == 1)
        #expect(reader.skipped.firstLine[.duplicateTime] == 4)
        let (_, _, strictError) = try readAll(path, TraceReadOptions(strict: true))
        #expect(strictError?.kind == .nonMonotonic)
    }
}
