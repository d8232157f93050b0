import TestSupport
import Testing

@testable import SensorBus

/// A bus that records the length and register of every burst.
final class RecordingBus: SensorBus {
    let address: UInt8 = 0x1D
    let maxBurstLength: Int
    let name = "rec"
    var bursts: [(UInt8, Int)] = []
    var next: UInt8 = 0
    init(maxBurstLength: Int) { self.maxBurstLength = maxBurstLength }
    func readRegister(_ register: UInt8) throws(BusError) -> UInt8 { 0 }
    func writeRegister(_ register: UInt8, value: UInt8) throws(BusError) {}
    func readRegisters(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(BusError) {
        precondition(buffer.count <= maxBurstLength)
        bursts.append((register, buffer.count))
        for i in 0..<buffer.count {
            buffer[i] = next
            next &+= 1
        }
    }
}

@Suite("readFrames chunking")
struct BurstReadTests {
    @Test(
        "chunks are whole frames no longer than maxBurstLength, all at the same register",
        arguments: [
            (32, 6, 192, [30, 30, 30, 30, 30, 30, 12]),  // LIS3DH over SMBus: 5 frames a chunk
            (32, 9, 288, [27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 18]),  // ADXL355 over SMBus
            (192, 6, 192, [192]),  // a whole LIS3DH FIFO in one repeated-start read
            (192, 9, 288, [189, 99]),
            (32, 6, 6, [6]),
        ])
    func chunks(maxBurst: Int, frame: Int, total: Int, expected: [Int]) throws {
        let bus = RecordingBus(maxBurstLength: maxBurst)
        var buf = [UInt8](repeating: 0xFF, count: total)
        let n = try buf.withUnsafeMutableBytes { (raw) throws(BusError) in
            try bus.readFrames(0x11, into: raw, frameLength: frame)
        }
        #expect(n == expected.count)
        #expect(bus.bursts.map(\.1) == expected)
        #expect(bus.bursts.allSatisfy { $0.0 == 0x11 })
        // Bytes land in order, with no gap or overlap between chunks.
        #expect(buf == (0..<total).map { UInt8(truncatingIfNeeded: $0) })
    }

    @Test("a buffer that is not whole frames, or a frame longer than a burst, is an error")
    func badShapes() throws {
        let bus = RecordingBus(maxBurstLength: 32)
        var buf = [UInt8](repeating: 0, count: 10)
        #expect(throws: BusError.self) {
            try buf.withUnsafeMutableBytes { raw in _ = try bus.readFrames(0x28, into: raw, frameLength: 6) }
        }
        let tiny = RecordingBus(maxBurstLength: 4)
        var six = [UInt8](repeating: 0, count: 6)
        let e = try #require(
            thrown(BusError.self) {
                try six.withUnsafeMutableBytes { raw in
                    _ = try tiny.readFrames(0x28, into: raw, frameLength: 6)
                }
            })
        #expect(e.kind == .unsupported)
        #expect(bus.bursts.isEmpty && tiny.bursts.isEmpty)
    }
}
