import Foundation
import TestSupport
import Testing
import TwitchCore

@testable import Traces

@Suite("TraceReader")
struct TraceReaderTests {
    @Test func genericCSVWithMetadata() throws {
        let dir = try temporaryDirectory()
        let path = try writeFile(
            dir, "a.csv",
            """
            # sensor=lis3dh
            # rate_hz=400
            # location=left-calf
            time_s,ax_g,ay_g,az_g
            10.000,0.1,-0.2,0.98
            10.0025,0.125,-0.25,0.975
            10.005,1e-3,2.5E-1,-1
            10.0075,0,0,0

            """)
        let (reader, samples, error) = try readAll(path)
        #expect(error == nil)
        #expect(reader.metadata.sensor == "lis3dh")
        #expect(reader.metadata.location == "left-calf")
        #expect(reader.metadata.nominalRate == 400)
        #expect(reader.format == .genericCSV)
        #expect(reader.units == .g)
        #expect(!reader.compressed)
        #expect(reader.startTime == nil)
        #expect(reader.firstTimestamp == 10)
        #expect(abs(reader.sampleRate - 400) < 1e-6)
        #expect(samples.count == 4)
        #expect(samples[0] == Sample(time: 0, x: 0.1, y: -0.2, z: 0.98))
        #expect(abs(samples[1].time - 0.0025) < 1e-12)
        #expect(samples[2].acceleration == Vector3(x: 0.001, y: 0.25, z: -1))
        #expect(reader.samplesRead == 4)
    }

    @Test func metersPerSecondSquaredColumnsAreConverted() throws {
        let dir = try temporaryDirectory()
        for header in ["t,ax_ms2,ay_ms2,az_ms2", "time (s),x (m/s^2),y (m/s^2),z (m/s^2)"] {
            let path = try writeFile(dir, "m.csv", "\(header)\n0,9.80665,0,-19.6133\n0.01,0,0,0\n")
            let (reader, samples, error) = try readAll(path)
            #expect(error == nil)
            #expect(reader.units == .metersPerSecondSquared)
            #expect(abs(samples[0].acceleration.x - 1) < 1e-12)
            #expect(abs(samples[0].acceleration.z + 2) < 1e-12)
            #expect(abs(reader.sampleRate - 100) < 1e-6)
        }
    }

    @Test func columnsInAnyOrderWithExtraColumns() throws {
        let dir = try temporaryDirectory()
        let path = try writeFile(dir, "o.csv", "z_g,temp,x_g,time_s,y_g\n3,25,1,0.5,2\n6,25,4,0.6,5\n")
        let (_, samples, error) = try readAll(path)
        #expect(error == nil)
        #expect(samples[1] == Sample(time: 0.6 - 0.5, x: 4, y: 5, z: 6))
    }

    @Test func phyphoxExportWithIrregularTimestamps() throws {
        let dir = try temporaryDirectory()
        var text =
            "\"Time (s)\",\"Acceleration x (m/s^2)\",\"Acceleration y (m/s^2)\",\"Acceleration z (m/s^2)\"\n"
        // 200 Hz nominal with jitter of up to +-1 ms.
        var t = 3.195226e-4
        var expected: [Double] = []
        for i in 0..<500 {
            let jitter = Double((i * 37) % 21 - 10) * 1e-4
            expected.append(t)
            text += String(format: "%.6E,%.6E,%.6E,%.6E\n", t, 1.147378, 1.618097, 9.590904)
            t += 0.005 + jitter
        }
        let path = try writeFile(dir, "p.csv.gz", text)
        let (reader, samples, error) = try readAll(path)
        #expect(error == nil)
        #expect(reader.format == .phyphox)
        #expect(reader.compressed)
        #expect(reader.units == .metersPerSecondSquared)
        #expect(samples.count == 500)
        #expect(abs(reader.sampleRate - 200) < 5)
        #expect(abs(samples[0].acceleration.z - 9.590904 / 9.80665) < 1e-9)
        // %.6E keeps 7 significant digits.
        #expect(abs(samples[499].time - (expected[499] - expected[0])) < 2e-6)
    }

    @Test func semicolonWithDecimalCommaAndTabSeparated() throws {
        let dir = try temporaryDirectory()
        let semi = try writeFile(
            dir, "semi.csv",
            "\"Time (s)\";\"Acceleration x (m/s^2)\";\"Acceleration y (m/s^2)\";\"Acceleration z (m/s^2)\"\n"
                + "0,000000E+00;9,80665E+00;0;0\n5,0E-03;0;-9,80665;0\n")
        let (r1, s1, e1) = try readAll(semi)
        #expect(e1 == nil)
        #expect(r1.format == .phyphox)
        #expect(abs(s1[0].acceleration.x - 1) < 1e-12)
        #expect(abs(s1[1].acceleration.y + 1) < 1e-12)
        #expect(abs(r1.sampleRate - 200) < 1e-6)
        let tab = try writeFile(dir, "tab.tsv", "t\tx\ty\tz\n0\t0.1\t0.2\t1\n0.005\t0.4\t0.5\t0.9\n")
        let (_, s2, e2) = try readAll(tab)
        #expect(e2 == nil)
        #expect(s2[1] == Sample(time: 0.005, x: 0.4, y: 0.5, z: 0.9))
        // A UTF-8 byte order mark and CRLF line ends, as spreadsheet programs write them.
        let bom = try writeFile(dir, "bom.csv", "\u{FEFF}time_s,ax_g,ay_g,az_g\r\n0,0,0,1\r\n0.01,0,0,1\r\n")
        let (_, s3, e3) = try readAll(bom)
        #expect(e3 == nil)
        #expect(s3.count == 2)
    }

    @Test func absoluteTimeFromMetadataOrEpochColumn() throws {
        let dir = try temporaryDirectory()
        let a = try writeFile(
            dir, "a.csv",
            "# start_time=2026-11-26T23:00:00.250Z\ntime_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n")
        let readerA = try TraceReader(path: a)
        #expect(readerA.startTime == RFC3339.parse("2026-11-26T23:00:00.250Z"))
        let b = try writeFile(
            dir, "b.csv", "# start_unix=1700000000.5\ntime_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n")
        let readerB = try TraceReader(path: b)
        #expect(readerB.startTime == 1_700_000_000.5)
        let c = try writeFile(
            dir, "c.csv", "time_s,ax_g,ay_g,az_g\n1700000000.000,0,0,1\n1700000000.010,0,0,1\n")
        let (rc, sc, ec) = try readAll(c)
        #expect(ec == nil)
        #expect(rc.startTime == 1_700_000_000)
        #expect(abs(sc[1].time - 0.01) < 1e-6)
        let d = try writeFile(
            dir, "d.csv", "# start_time=yesterday\ntime_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n")
        #expect(throws: TraceError.self) { try TraceReader(path: d) }
    }

    @Test func batchRead() throws {
        let dir = try temporaryDirectory()
        var text = "time_s,ax_g,ay_g,az_g\n"
        for i in 0..<10_000 { text += "\(Double(i) / 1000),\(i),0,0\n" }
        let path = try writeFile(dir, "big.csv", text)
        var reader = try TraceReader(path: path)
        var buffer = [Sample](repeating: Sample(time: 0, x: 0, y: 0, z: 0), count: 3000)
        var total = 0
        var last = -1.0
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { b throws(TraceError) in
                try reader.read(into: b)
            }
            if n == 0 { break }
            for k in 0..<n {
                #expect(buffer[k].acceleration.x == last + 1)
                last = buffer[k].acceleration.x
            }
            total += n
        }
        #expect(total == 10_000)
        #expect(abs(reader.sampleRate - 1000) < 1e-6)
    }

    @Test(
        .enabled(
            if: Prerequisite.met(sharedTracesDirectory() != nil),
            "shared/data/traces not found beside the repository"))
    func developmentTracesOpen() throws {
        let dir = try #require(sharedTracesDirectory(), "shared/data/traces not found beside the repository")
        for (name, rate, format) in [
            ("dev01-lis3dh-400hz-calf.csv.gz", 400.0, TraceFormat.genericCSV),
            ("dev06-phone-200hz-calf.csv.gz", 200.0, .phyphox),
        ] {
            let (reader, samples, error) = try readAll(dir.appendingPathComponent(name).path)
            #expect(error == nil)
            #expect(reader.format == format)
            #expect(abs(reader.sampleRate - rate) / rate < 0.05, "\(name): \(reader.sampleRate)")
            #expect(samples.count > 60_000)
            for s in samples { #expect(abs(s.acceleration.magnitude - 1) < 4) }
        }
    }
}

@Suite("TraceReader errors")
struct TraceReaderErrorTests {
    func openError(_ path: String) -> TraceError? {
        do {
            _ = try TraceReader(path: path)
            return nil
        } catch { return error }
    }

    @Test func missingFileIsNoInput() throws {
        let e = openError("/nonexistent/x.csv")
        #expect(e?.kind == .noInput)
        #expect(e?.exitCode == .noInput)
        #expect(e?.description.contains("/nonexistent/x.csv") == true)
        let dir = try temporaryDirectory()
        #expect(openError(dir.path)?.kind == .noInput)
    }

    @Test func emptyFiles() throws {
        let dir = try temporaryDirectory()
        for (name, text) in [
            ("e1.csv", ""), ("e2.csv", "# sensor=x\n"), ("e3.csv", "time_s,ax_g,ay_g,az_g\n"),
            ("e4.csv.gz", ""), ("e5.csv", "time_s,ax_g,ay_g,az_g\n0,0,0,0\n"),
        ] {
            let e = openError(try writeFile(dir, name, text))
            #expect(e?.kind == .empty, "\(name)")
            #expect(e?.exitCode == .dataErr)
        }
    }

    @Test func unknownHeader() throws {
        let dir = try temporaryDirectory()
        for header in ["a,b,c,d", "time_s,ax_g,ay_g", "0.0,1,2,3", "time_s,foo_x,bar_y,baz_z"] {
            let e = openError(try writeFile(dir, "h.csv", "# k=v\n\(header)\n0,0,0,0\n1,1,1,1\n"))
            #expect(e?.kind == .unknownHeader, "\(header)")
            #expect(e?.line == 2)
            #expect(e?.description.hasPrefix(dir.path) == true)
        }
    }

    /// Errors after the first samples (reading strictly): the earlier samples are returned, then
    /// the error names the line.
    @Test(arguments: [
        ("0.03,1,x,2\n", TraceError.Kind.badCell),
        ("0.03,1,,2\n", .badCell),
        ("0.03,1,2\n", .badCell),
        ("0.03,nan,0,0\n", .nonFinite),
        ("0.03,0,-inf,0\n", .nonFinite),
        ("0.03,0,0,1e999\n", .nonFinite),
        ("0.01,0,0,0\n", .nonMonotonic),
        ("0.02,0,0,0\n", .nonMonotonic),
    ])
    func contentErrorsNameTheLine(row: String, kind: TraceError.Kind) throws {
        let dir = try temporaryDirectory()
        let path = try writeFile(
            dir, "bad.csv",
            "# sensor=s\ntime_s,ax_g,ay_g,az_g\n0,0,0,1\n0.01,0,0,1\n0.02,0,0,1\n\(row)0.04,0,0,1\n")
        let (_, samples, error) = try readAll(path, TraceReadOptions(strict: true))
        #expect(samples.count == 3)
        #expect(error?.kind == kind)
        #expect(error?.line == 6)
        #expect(error?.exitCode == .dataErr)
        #expect(error?.description.contains("bad.csv:6:") == true)
    }

    @Test func truncatedGzipKeepsTheSamplesBeforeTheCut() throws {
        let dir = try temporaryDirectory()
        var text = "time_s,ax_g,ay_g,az_g\n"
        for i in 0..<20_000 { text += "\(Double(i) / 1000),0.\(i % 997),0,1\n" }
        let path = try writeFile(dir, "t.csv.gz", text)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = dir.appendingPathComponent("cut.csv.gz").path
        try data.prefix(data.count * 2 / 3).write(to: URL(fileURLWithPath: cut))
        let (_, samples, error) = try readAll(cut)
        #expect(error?.kind == .truncated)
        #expect(error?.exitCode == .dataErr)
        #expect(samples.count > 1000 && samples.count < 20_000)
        // Every sample returned is a complete, correct row.
        for (i, s) in samples.enumerated() { #expect(abs(s.time - Double(i) / 1000) < 1e-9) }
        // Corrupt (not just short) data is also an error, not a crash.
        var bad = data
        for k in 100..<200 { bad[k] ^= 0x5A }
        let corrupt = dir.appendingPathComponent("corrupt.csv.gz").path
        try bad.write(to: URL(fileURLWithPath: corrupt))
        var kind: TraceError.Kind? = nil
        do {
            let (_, _, e) = try readAll(corrupt)
            kind = e?.kind
        } catch { kind = error.kind }
        // zlib notices the damage (or the damaged text fails to parse); either way a content error.
        #expect(kind == .truncated || kind == .badCell || kind == .nonMonotonic)
    }
}
