import Foundation
import Testing
import TwitchCore

@testable import Traces

/// Damaged input of every kind must end in samples plus a TraceError, never a crash or a hang.
@Suite("TraceReader on damaged input")
struct TraceReaderFuzzTests {
    func validTrace(rows: Int) -> [UInt8] {
        var text = "# sensor=lis3dh\n# location=calf\ntime_s,ax_g,ay_g,az_g\n"
        for i in 0..<rows { text += "\(Double(i) / 400),0.\(i % 1000),-0.5,0.866\n" }
        return Array(text.utf8)
    }

    @Test func randomMutationsNeverCrash() throws {
        let dir = try temporaryDirectory()
        var rng = SeededRandom(seed: 77)
        let base = validTrace(rows: 2000)
        let alphabet = Array("0123456789.,-+eE nNaAiI#=\"\t\r\n;x".utf8) + [0, 0xFF, 0xC3]
        for round in 0..<200 {
            var bytes = base
            for _ in 0..<(1 + Int(rng.unit() * 8)) {
                let at = Int(rng.unit() * Double(bytes.count))
                switch Int(rng.unit() * 4) {
                case 0: bytes[at] = alphabet[Int(rng.unit() * Double(alphabet.count))]
                case 1: bytes.insert(alphabet[Int(rng.unit() * Double(alphabet.count))], at: at)
                case 2: bytes.remove(at: at)
                default: bytes.removeLast(bytes.count - at)
                }
                if bytes.isEmpty { break }
            }
            let path = dir.appendingPathComponent("m\(round).csv").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                var reader = try TraceReader(path: path)
                var n = 0
                var last = -Double.infinity
                while let s = try reader.next() {
                    #expect(s.time > last)
                    #expect(s.time.isFinite && s.acceleration.magnitude.isFinite)
                    last = s.time
                    n += 1
                }
                #expect(n <= 2001)
            } catch {
                #expect(error.exitCode == .dataErr, "\(error)")
                #expect(error.description.hasPrefix(path))
            }
        }
    }

    @Test func damagedGzipNeverCrashes() throws {
        let dir = try temporaryDirectory()
        let source = dir.appendingPathComponent("ok.csv.gz").path
        var w = try TraceWriter(path: source)
        for i in 0..<20_000 {
            try w.write(Sample(time: Double(i) / 1000, x: 0, y: Double(i % 7) / 100, z: 1))
        }
        try w.close()
        let good = try Data(contentsOf: URL(fileURLWithPath: source))
        var rng = SeededRandom(seed: 5)
        for round in 0..<60 {
            var bytes = [UInt8](good)
            if round % 2 == 0 {
                bytes.removeLast(Int(rng.unit() * Double(bytes.count - 1)))
            } else {
                for _ in 0..<4 {
                    bytes[Int(rng.unit() * Double(bytes.count))] ^= UInt8(1 + Int(rng.unit() * 254))
                }
            }
            let path = dir.appendingPathComponent("d\(round).csv.gz").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                var reader = try TraceReader(path: path)
                while try reader.next() != nil {}
            } catch {
                #expect(error.exitCode == .dataErr, "\(error)")
            }
        }
    }
}
