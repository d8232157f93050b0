import Foundation
import Testing
import TwitchCore

@testable import Traces

@Suite("TraceWriter")
struct TraceWriterTests {
    func samples(_ n: Int) -> [Sample] {
        (0..<n).map { i in
            let t = Double(i) / 800
            return Sample(time: t, x: sin(t * 100) * 0.01, y: -0.5 + Double(i % 7) * 1e-6, z: 0.866)
        }
    }

    @Test(arguments: ["w.csv", "w.csv.gz"])
    func roundTrip(name: String) throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent(name).path
        let meta = TraceMetadata(["sensor": "adxl345", "location": "left calf", "rate_hz": "800"])
        var w = try TraceWriter(path: path, metadata: meta)
        #expect(w.compressed == name.hasSuffix(".gz"))
        let input = samples(50_000)
        for s in input { try w.write(s) }
        try w.close()
        let (reader, output, error) = try readAll(path)
        #expect(error == nil)
        #expect(reader.metadata == meta)
        #expect(reader.compressed == name.hasSuffix(".gz"))
        #expect(output.count == input.count)
        #expect(abs(reader.sampleRate - 800) < 1e-3)
        for (a, b) in zip(input, output) {
            #expect(abs(a.time - b.time) <= 5e-7)
            #expect(abs(a.acceleration.x - b.acceleration.x) <= 5e-7)
            #expect(abs(a.acceleration.y - b.acceleration.y) <= 5e-7)
        }
    }

    /// Without close (a killed process), everything up to the last flush is a valid file.
    @Test(arguments: ["k.csv", "k.csv.gz"])
    func flushedPrefixIsValidWithoutClose(name: String) throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent(name).path
        var w = try TraceWriter(path: path)
        let input = samples(30_000)
        for s in input[..<12_345] { try w.write(s) }
        try w.flush()
        for s in input[12_345..<12_400] { try w.write(s) }
        // Copy the file as it is now, as if the process had been killed here.
        let snapshot = dir.appendingPathComponent("snap-" + name).path
        try FileManager.default.copyItem(atPath: path, toPath: snapshot)
        let (_, output, error) = try readAll(snapshot)
        #expect(error == nil)
        #expect(output.count == 12_345)
        try w.close()
        let closed = try readAll(path)
        #expect(closed.1.count == 12_400)
    }

    @Test func formatsNumbersExactly() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("f.csv").path
        var w = try TraceWriter(path: path, metadata: TraceMetadata(["location": "x"]))
        try w.write(Sample(time: 0, x: -0.0000004, y: 1.5, z: -12.3456789))
        try w.write(Sample(time: 1234.0000005, x: 0.000001, y: -0.5, z: 0))
        try w.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            text == """
                # location=x
                time_s,ax_g,ay_g,az_g
                0.000000,0.000000,1.500000,-12.345679
                1234.000001,0.000001,-0.500000,0.000000

                """)
    }

    @Test func cannotCreate() {
        #expect(throws: TraceError.self) { try TraceWriter(path: "/nonexistent-dir/x.csv") }
        do { _ = try TraceWriter(path: "/nonexistent-dir/x.csv") } catch {
            #expect(error.exitCode == .cantCreate)
        }
    }
}
