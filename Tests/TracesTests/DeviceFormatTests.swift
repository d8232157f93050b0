import Foundation
import Testing
import TwitchCore

@testable import Traces

@Suite("GENEActiv .bin")
struct GENEActivTests {
    let writer = GENEActivWriter()

    func pages(count: Int, start: Int = 0) -> [GENEActivWriter.Page] {
        (0..<count).map { k in
            let second = 3 * (k + start)
            let time = "2019-03-21 14:58:\(second < 10 ? "0" : "")\(second):500"
            let raw = (0..<300).map { i in ((i * 7 + k) % 4096 - 2048, 256 - i % 512, -(i % 2048)) }
            return GENEActivWriter.Page(time: time, temperature: 30 + Double(k), raw: raw)
        }
    }

    @Test func samplesFollowTheVendorFormulaAndPageTimes() throws {
        let dir = try temporaryDirectory()
        let p = pages(count: 3)
        let path = try writeFile(dir, "wrist.bin", writer.file(p))
        let (r, samples, error) = try readRecording(path)
        #expect(error == nil)
        #expect(r.format == .geneactiv)
        #expect(r.serial == "046140")
        #expect(r.device == "GENEActiv 1.1")
        #expect(r.utcOffset == -4 * 3600)
        #expect(r.metadata.location == "left wrist")
        // 2019-03-21 14:58:00.500 at GMT-4 is 18:58:00.500 UTC.
        #expect(r.startTime == RFC3339.parse("2019-03-21T18:58:00.500Z"))
        #expect(abs(r.sampleRate - 100) < 1e-9)
        #expect(samples.count == 900)
        #expect(r.temperatureRange == 30...32)
        for (k, page) in p.enumerated() {
            for (i, raw) in page.raw.enumerated() {
                let s = samples[300 * k + i]
                #expect(abs(s.time - (3 * Double(k) + Double(i) / 100)) < 1e-9)
                #expect(abs(s.acceleration.x - writer.g(raw.0, axis: 0)) < 1e-9)
                #expect(abs(s.acceleration.y - writer.g(raw.1, axis: 1)) < 1e-9)
                #expect(abs(s.acceleration.z - writer.g(raw.2, axis: 2)) < 1e-9)
            }
        }
    }

    @Test func aPageTimeJumpIsAGapAndABadPageIsSkippedAndCounted() throws {
        let dir = try temporaryDirectory()
        var p = pages(count: 2) + pages(count: 2, start: 10)
        p[2].corrupt = true
        let path = try writeFile(dir, "gap.bin", writer.file(p))
        let (r, samples, error) = try readRecording(path)
        #expect(error == nil)
        #expect(samples.count == 900)
        // Page 3 (at 30 s) was bad: the samples jump from 2 pages (ending 5.99 s) to 33 s.
        #expect(abs(samples[599].time - 5.99) < 1e-9)
        #expect(abs(samples[600].time - 33) < 1e-9)
        #expect(r.skipped == [SkipCount(reason: "page with bad hex", count: 1)])
    }

    @Test func theFormatComesFromTheContentNotTheName() throws {
        let dir = try temporaryDirectory()
        let path = try writeFile(dir, "looks-like.csv", writer.file(pages(count: 1)))
        let r = try Recording(path: path)
        #expect(r.format == .geneactiv)
    }

    @Test(
        .enabled(
            if: realFile("sleeppy/demo.bin") != nil,
            "needs sleeppy/demo.bin from scripts/fetch-real-data (set TWITCHD_REAL_DATA to its folder)"))
    func realFileAgreesWithTheVendorFormula() throws {
        let path = try #require(realFile("sleeppy/demo.bin"))
        let r = try Recording(path: path)
        #expect(r.format == .geneactiv)
        #expect(r.serial == "046140")
        // The header: first page at 2019-03-21 14:58:00:500, Time Zone GMT -04:00.
        #expect(r.startTime == RFC3339.parse("2019-03-21T18:58:00.500Z"))
        #expect(abs(r.sampleRate - 100) < 1e-6)
        // Decode the first 20 pages here independently (Int(hex, radix: 16), header gains)
        // and compare every sample to the vendor formula to 1e-4 g.
        let text = try String(decoding: readPrefix(path, bytes: 200_000), as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        func header(_ key: String) -> Double {
            for l in lines where l.hasPrefix(key + ":") { return Double(l.dropFirst(key.count + 1)) ?? .nan }
            return .nan
        }
        let gain = [header("x gain"), header("y gain"), header("z gain")]
        let offset = [header("x offset"), header("y offset"), header("z offset")]
        let hexLines = lines.filter { $0.count == 3600 }.prefix(20)
        #expect(hexLines.count == 20)
        let buffer = UnsafeMutableBufferPointer<TwitchCore.Sample>.allocate(capacity: 6000)
        defer { buffer.deallocate() }
        var n = 0
        while n < 6000 {
            let got = try r.read(into: UnsafeMutableBufferPointer(rebasing: buffer[n...]))
            if got == 0 { break }
            n += got
        }
        #expect(n == 6000)
        var worst = 0.0
        for (k, line) in hexLines.enumerated() {
            let chars = Array(line)
            for i in 0..<300 {
                let cell = String(chars[(12 * i)..<(12 * i + 12)])
                guard let word = UInt64(cell, radix: 16) else {
                    Issue.record("bad hex \(cell)")
                    return
                }
                var values: [Double] = []
                for axis in 0..<3 {
                    var v = Int(word >> UInt64(36 - 12 * axis) & 0xFFF)
                    if v >= 2048 { v -= 4096 }
                    values.append(((Double(v) * 100 - offset[axis]) / gain[axis] * 1e4).rounded() / 1e4)
                }
                let s = buffer[300 * k + i]
                worst = max(worst, abs(s.acceleration.x - values[0]), abs(s.acceleration.y - values[1]))
                worst = max(worst, abs(s.acceleration.z - values[2]))
                #expect(abs(s.time - (3 * Double(k) + Double(i) / 100)) < 1e-9)
            }
        }
        #expect(worst <= 1e-4)
        // And the whole file reads to the end: 25216 pages of 300 samples.
        var total = n
        let big = UnsafeMutableBufferPointer<TwitchCore.Sample>.allocate(capacity: 1 << 16)
        defer { big.deallocate() }
        while true {
            let got = try r.read(into: big)
            if got == 0 { break }
            total += got
        }
        #expect(total == 25216 * 300)
        #expect(r.skipped.isEmpty)
    }
}

/// The first `bytes` bytes of a file.
func readPrefix(_ path: String, bytes: Int) throws -> Data {
    let h = try Foundation.FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    defer { try? h.close() }
    return h.readData(ofLength: bytes)
}

@Suite("Axivity .cwa")
struct AxivityTests {
    let writer = CWAWriter()

    func values(_ n: Int, seed: Int) -> [(Int, Int, Int)] {
        (0..<n).map { i in ((i * 13 + seed) % 1024 - 512, (i * 5 + seed) % 1024 - 512, 256 - (i + seed) % 512)
        }
    }

    /// 10-bit two's complement, times 8 (exponent 3), in 1/256 g.
    func packedG(_ v: Int) -> Double {
        let s = v & 0x200 != 0 ? (v & 0x3FF) - 1024 : v & 0x3FF
        return Double(s * 8) / 256
    }

    @Test func packedBlocksDecodeWithTimesBetweenBlockStamps() throws {
        let dir = try temporaryDirectory()
        var file = writer.header()
        let v0 = values(120, seed: 1)
        let v1 = values(120, seed: 2)
        let v2 = values(120, seed: 3)
        // Block starts 1.2 s apart for 120 samples: the clock says 100 Hz exactly.
        // Block 0: stamp 12:00:00 + fraction 0.5 s; the stored sample offset is 0 but the
        // firmware's shim subtracted the 50 whole samples in the fraction: first sample 12:00:00.
        file += writer.block(
            sequence: 0, stamp: CWAWriter.stamp(2023, 5, 3, 12, 0, 0), fraction: 32768, offset: 0, values: v0)
        // Blocks 1 and 2: whole seconds, sample offset -20 and -40: they start at 1.2 and 2.4 s.
        file += writer.block(
            sequence: 1, stamp: CWAWriter.stamp(2023, 5, 3, 12, 0, 1), fraction: 0, offset: -20, values: v1)
        file += writer.block(
            sequence: 2, stamp: CWAWriter.stamp(2023, 5, 3, 12, 0, 2), fraction: nil, offset: -40, values: v2)
        let url = dir.appendingPathComponent("ax3.cwa")
        try Data(file).write(to: url)
        let (r, samples, error) = try readRecording(url.path)
        #expect(error == nil)
        #expect(r.format == .axivity)
        #expect(r.device == "AX3")
        #expect(r.serial == "4321")
        #expect(r.nominalRate == 100)
        #expect(samples.count == 360)
        let celsius: Double = 75.0 * 300 / 256 - 50
        #expect(r.temperatureRange == celsius...celsius)
        let t0 = try #require(RFC3339.parse("2023-05-03T12:00:00Z"))
        #expect(abs((r.startTime ?? 0) - t0) < 1e-6)
        let all = v0 + v1 + v2
        for (i, s) in samples.enumerated() {
            #expect(abs(s.time - Double(i) * 0.01) < 1e-4)
            #expect(abs(s.acceleration.x - packedG(all[i].0)) < 1e-12)
            #expect(abs(s.acceleration.y - packedG(all[i].1)) < 1e-12)
            #expect(abs(s.acceleration.z - packedG(all[i].2)) < 1e-12)
        }
    }

    @Test func unpackedAX6SkipsTheGyroAndUsesTheScale() throws {
        let dir = try temporaryDirectory()
        var w = writer
        w.hardware = 0x64
        var file = w.header()
        let v = (0..<40).map { i in (i * 100 - 2000, 4096, -i * 50) }
        file += w.block(
            sequence: 0, stamp: CWAWriter.stamp(2024, 1, 2, 3, 4, 5), fraction: nil, offset: 0, values: v,
            packed: false, axes: 6, accelScaleCode: 3)
        file += w.block(
            sequence: 1, stamp: CWAWriter.stamp(2024, 1, 2, 3, 4, 5), fraction: nil, offset: -40, values: v,
            packed: false, axes: 6, accelScaleCode: 3)
        let url = dir.appendingPathComponent("ax6.data")
        try Data(file).write(to: url)
        let (r, samples, error) = try readRecording(url.path)
        #expect(error == nil)
        #expect(r.device == "AX6")
        #expect(samples.count == 80)
        // Scale code 3: 1 g = 2^(8+3) = 2048 counts.
        for (i, s) in samples.prefix(40).enumerated() {
            #expect(s.acceleration.x == Double(v[i].0) / 2048)
            #expect(s.acceleration.y == 2)
            #expect(s.acceleration.z == Double(v[i].2) / 2048)
        }
    }

    @Test func aBadChecksumBlockIsSkippedAndLeavesAGap() throws {
        let dir = try temporaryDirectory()
        var file = writer.header()
        for k in 0..<4 {
            file += writer.block(
                sequence: k, stamp: CWAWriter.stamp(2023, 5, 3, 12, 0, 0) + UInt32(k), fraction: nil,
                offset: -20 * k, values: values(120, seed: k), badChecksum: k == 2)
        }
        let url = dir.appendingPathComponent("bad.cwa")
        try Data(file).write(to: url)
        let (r, samples, error) = try readRecording(url.path)
        #expect(error == nil)
        #expect(samples.count == 360)
        #expect(r.skipped == [SkipCount(reason: "block checksum", count: 1)])
        // Block 3 starts at 3.6 s: the samples jump over the 1.2 s block that was lost.
        #expect(abs(samples[240].time - 3.6) < 1e-3)
        #expect(samples[240].time - samples[239].time > 1)
    }

    @Test(
        .enabled(
            if: realFile("labda-accelerometers/axivity.cwa") != nil,
            "needs labda-accelerometers/axivity.cwa from scripts/fetch-real-data"))
    func realAX3File() throws {
        let path = try #require(realFile("labda-accelerometers/axivity.cwa"))
        let (r, samples, error) = try readRecording(path)
        #expect(error == nil)
        #expect(r.device == "AX3")
        #expect(r.nominalRate == 25)
        // The device clock runs at about 24.6 samples per second.
        #expect(abs(r.sampleRate - 24.57) < 0.05)
        #expect(samples.count == 35893 * 120)
        #expect(r.skipped.isEmpty)
        let t0 = try #require(RFC3339.parse("2023-05-03T12:30:06Z"))
        #expect(abs((r.startTime ?? 0) - t0) < 1)
        // 49 h, every sample after the one before, and gravity about 1 g.
        #expect(abs((samples.last?.time ?? 0) / 3600 - 49) < 0.1)
        var mean = 0.0
        let count = 25 * 600
        for s in samples.prefix(count) { mean += s.acceleration.magnitude }
        mean /= Double(count)
        #expect(abs(mean - 1) < 0.1)
    }
}

@Suite("ActiGraph .gt3x and zip")
struct ActiGraphTests {
    let writer = GT3XWriter()

    func logBin(badSecond: Int? = nil) -> [UInt8] {
        var log: [UInt8] = []
        // Seconds 0-2, then idle sleep until second 10, then 10-11. A battery record between.
        let stamp0: UInt32 = 1_557_160_718  // 2019-05-06 16:38:38 on the device's (local) clock
        for second in [0, 1, 2, 10, 11] {
            let values = (0..<30).map { i in (second * 10 + i, -256, 128 - i) }
            log += GT3XWriter.record(
                type: 0x1A, stamp: stamp0 + UInt32(second), payload: GT3XWriter.activity2(values),
                badChecksum: second == badSecond)
            if second == 1 { log += GT3XWriter.record(type: 0x02, stamp: stamp0 + 1, payload: [0x10, 0x10]) }
        }
        return log + [0, 0, 0]
    }

    @Test func activity2RecordsWithIdleSleepGapsAndTimeZone() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("wrist.gt3x")
        try Data(storedZip([("info.txt", writer.info()), ("log.bin", logBin())])).write(to: url)
        let (r, samples, error) = try readRecording(url.path)
        #expect(error == nil)
        #expect(r.format == .actigraph)
        #expect(r.serial == "TAS1TEST0001")
        #expect(r.device == "ActiGraph wGT3XBT")
        #expect(r.metadata.location == "left-wrist")
        #expect(r.utcOffset == -5 * 3600)
        // Local 16:38:38 at -05:00 is 21:38:38 UTC.
        #expect(r.startTime == RFC3339.parse("2019-05-06T21:38:38Z"))
        #expect(samples.count == 150)
        #expect(abs(r.sampleRate - 30) < 1e-9)
        #expect(abs(samples[89].time - (2 + 29.0 / 30)) < 1e-9)
        #expect(samples[90].time == 10)
        #expect(samples[90].acceleration.x == 100.0 / 256)
        #expect(samples[90].acceleration.y == -1)
        #expect(r.skipped.isEmpty)
    }

    @Test func aRecordWithABadChecksumIsSkippedAndCounted() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("bad.gt3x")
        try Data(storedZip([("info.txt", writer.info()), ("log.bin", logBin(badSecond: 1))])).write(to: url)
        let (r, samples, error) = try readRecording(url.path)
        #expect(error == nil)
        #expect(samples.count == 120)
        #expect(r.skipped == [SkipCount(reason: "record checksum", count: 1)])
    }

    @Test func deflatedMembersReadTheSame() throws {
        let dir = try temporaryDirectory()
        let stored = dir.appendingPathComponent("stored.gt3x")
        try Data(storedZip([("info.txt", writer.info()), ("log.bin", logBin())])).write(to: stored)
        let deflated = dir.appendingPathComponent("deflated.gt3x")
        try #require(
            deflatedCopy(of: stored.path, to: deflated.path), "python3 is needed to write a deflated zip")
        let (_, a, e1) = try readRecording(stored.path)
        let (_, b, e2) = try readRecording(deflated.path)
        #expect(e1 == nil && e2 == nil)
        #expect(a == b)
        #expect(a.count == 150)
    }

    @Test func aDamagedDeflateStreamIsAnErrorNamingTheMember() throws {
        let dir = try temporaryDirectory()
        let stored = dir.appendingPathComponent("stored.gt3x")
        try Data(storedZip([("info.txt", writer.info()), ("log.bin", logBin())])).write(to: stored)
        let deflated = dir.appendingPathComponent("deflated.gt3x")
        try #require(
            deflatedCopy(of: stored.path, to: deflated.path), "python3 is needed to write a deflated zip")
        var bytes = try [UInt8](Data(contentsOf: deflated))
        // Flip bits in the middle of log.bin's compressed data.
        let at = bytes.count / 2
        for k in 0..<8 { bytes[at + k] ^= 0x5A }
        try Data(bytes).write(to: deflated)
        var failure: TraceError? = nil
        do {
            let (_, _, e) = try readRecording(deflated.path)
            failure = e
        } catch {
            failure = error
        }
        let e = try #require(failure)
        #expect(e.kind == .truncated)
        #expect(e.path.hasSuffix("deflated.gt3x:log.bin"))
    }

    @Test(
        .enabled(
            if: realFile("labda-parsers/actigraph.gt3x") != nil,
            "needs labda-parsers/actigraph.gt3x from scripts/fetch-real-data"))
    func realActiGraphFile() throws {
        let path = try #require(realFile("labda-parsers/actigraph.gt3x"))
        let (r, samples, error) = try readRecording(path)
        #expect(error == nil)
        #expect(r.serial == "TAS1F06180456")
        #expect(r.nominalRate == 30)
        #expect(r.utcOffset == -5 * 3600)
        // 27009 whole seconds of ACTIVITY2 at 30 Hz; the last record holds 1 byte and is skipped.
        #expect(samples.count == 27009 * 30)
        #expect(r.skipped == [SkipCount(reason: "activity record of odd size", count: 1)])
        // Idle sleep leaves about 6 h of gaps: the times jump.
        var gaps = 0.0
        for i in 1..<samples.count where samples[i].time - samples[i - 1].time > 0.5 {
            gaps += samples[i].time - samples[i - 1].time
        }
        #expect(abs(gaps - 21919) < 500)
    }
}

@Suite("phyphox zip")
struct PhyphoxZipTests {
    @Test func theCSVInsideAndTheStartFromMetaTime() throws {
        let dir = try temporaryDirectory()
        var csv =
            "\"Time (s)\",\"Acceleration x (m/s^2)\",\"Acceleration y (m/s^2)\",\"Acceleration z (m/s^2)\"\n"
        for i in 0..<500 { csv += "\(0.25 + Double(i) * 0.005),0,\(9.80665),0\n" }
        let time = """
            "event","experiment time","system time","system time text"
            "START",0.000000000E0,1.700000000123E9,"2023-11-14 22:13:20.123 UTC+00:00"
            "PAUSE",2.750000000E0,1.700000002873E9,"2023-11-14 22:13:22.873 UTC+00:00"

            """
        let gyro =
            "\"Time (s)\",\"Gyroscope x (rad/s)\",\"Gyroscope y (rad/s)\",\"Gyroscope z (rad/s)\"\n0,0,0,0\n"
        let url = dir.appendingPathComponent("Acceleration 2023-11-14.zip")
        try Data(
            storedZip([
                ("Gyroscope.csv", Array(gyro.utf8)), ("Accelerometer.csv", Array(csv.utf8)),
                ("meta/time.csv", Array(time.utf8)),
                ("meta/device.csv", Array("\"property\",\"value\"\n".utf8)),
            ])
        ).write(to: url)
        let (r, samples, error) = try readRecording(url.path)
        #expect(error == nil)
        #expect(r.format == .phyphoxZip)
        #expect(samples.count == 500)
        #expect(abs(samples[0].acceleration.y - 1) < 1e-12)
        #expect(abs(r.sampleRate - 200) < 1e-6)
        // START at 1700000000.123; the first sample 0.25 s into the experiment.
        #expect(abs((r.startTime ?? 0) - 1_700_000_000.373) < 1e-6)
    }

    @Test func aZipOfAnotherAppsCSVIsReadAsThatCSV() throws {
        let dir = try temporaryDirectory()
        var csv = "time_s,ax_g,ay_g,az_g\n"
        for i in 0..<300 { csv += "\(Double(i) / 100),0,0,1\n" }
        let url = dir.appendingPathComponent("export.zip")
        try Data(storedZip([("Accelerometer.csv", Array(csv.utf8))])).write(to: url)
        let (r, samples, error) = try readRecording(url.path)
        #expect(error == nil)
        #expect(r.format == .genericCSV)
        #expect(r.compressed)
        #expect(samples.count == 300)
        #expect(r.startTime == nil)
    }

    @Test func aZipWithoutATraceSaysWhatItHolds() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("other.zip")
        try Data(storedZip([("notes.txt", Array("hello".utf8))])).write(to: url)
        var failure: TraceError? = nil
        do { _ = try Recording(path: url.path) } catch { failure = error }
        let e = try #require(failure)
        #expect(e.kind == .unknownHeader)
        #expect(e.message.contains("notes.txt"))
    }
}

@Suite("device files: damaged input")
struct DamagedDeviceFileTests {
    /// The made files of each format, cut short and with bytes flipped: every outcome is samples
    /// or a TraceError, never a crash, and the times that come out always increase.
    @Test func truncatedAndCorruptedFilesFailCleanly() throws {
        let dir = try temporaryDirectory()
        let bin = Array(
            GENEActivWriter().file(
                (0..<3).map { k in
                    GENEActivWriter.Page(
                        time: "2019-03-21 14:58:0\(3 * k):500", raw: (0..<300).map { ($0, -$0, 7) })
                }
            ).utf8)
        let w = CWAWriter()
        var cwa = w.header()
        for k in 0..<3 {
            cwa += w.block(
                sequence: k, stamp: CWAWriter.stamp(2023, 5, 3, 12, 0, k), fraction: nil, offset: 0,
                values: (0..<120).map { ($0, $0, $0) })
        }
        var log: [UInt8] = []
        for second in 0..<3 {
            log += GT3XWriter.record(
                type: 0x1A, stamp: 1_557_160_718 + UInt32(second),
                payload: GT3XWriter.activity2((0..<30).map { ($0, $0, $0) }))
        }
        let gt3x = storedZip([("info.txt", GT3XWriter().info()), ("log.bin", log)])
        var rng = SystemRandomNumberGenerator()
        var outcomes = [0, 0]
        for (name, original) in [("a.bin", bin), ("a.cwa", cwa), ("a.gt3x", gt3x)] {
            for trial in 0..<60 {
                var bytes = original
                if trial % 2 == 0 {
                    bytes = Array(bytes.prefix(Int.random(in: 1..<bytes.count, using: &rng)))
                } else {
                    for _ in 0..<(1 + trial % 7) {
                        bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(
                            in: 0...255, using: &rng)
                    }
                }
                let url = dir.appendingPathComponent("\(trial)-\(name)")
                try Data(bytes).write(to: url)
                do {
                    let (_, samples, error) = try readRecording(url.path)
                    outcomes[error == nil ? 0 : 1] += 1
                    for i in samples.indices.dropFirst() {
                        #expect(samples[i].time > samples[i - 1].time)
                    }
                } catch {
                    outcomes[1] += 1
                    #expect(!error.message.isEmpty)
                }
            }
        }
        #expect(outcomes[0] + outcomes[1] == 180)
    }
}
