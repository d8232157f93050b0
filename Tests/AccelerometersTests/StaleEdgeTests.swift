import Accelerometers
import SensorBus
import SensorSim
import Sensors
import Testing
import TwitchCore

/// An interrupt line whose edges can arrive late: the edge for one sample is held back (the wait
/// times out, so the driver polls and reads that sample), then handed out on the next wait. On a
/// real line this is the race between a wait's timeout and an edge queued in the kernel.
private final class LateEdgeLine: InterruptLine {
    let inner: any InterruptLine
    var holdEvery: Int
    private var waits = 0
    private var held: UInt64?
    private(set) var lateEdges = 0
    var name: String { "late(\(inner.name))" }

    init(_ inner: any InterruptLine, holdEvery: Int) {
        self.inner = inner
        self.holdEvery = holdEvery
    }

    func waitForRisingEdge(timeoutNanoseconds: Int64) throws(BusError) -> UInt64? {
        if let h = held {
            held = nil
            lateEdges += 1
            return h
        }
        let e = try inner.waitForRisingEdge(timeoutNanoseconds: timeoutNanoseconds)
        waits += 1
        if let e, waits % holdEvery == 0 {
            held = e
            return nil
        }
        return e
    }
}

@Suite("Bypass mode and late edges")
struct StaleEdgeTests {
    @Test("an edge older than the last read announces a sample already taken: never read twice")
    func lateEdgeIsNotASecondSample() throws {
        let clock = VirtualClock()
        let chip = try #require(ChipRegistry.row(.adxl345)).makeModel(
            source: RestingSource(), time: clock, oscillatorError: 0.01, maxBurstLength: 32,
            busSpeedHz: 400_000)
        let line = LateEdgeLine(chip.interruptLine, holdEvery: 7)
        let engine = try Accelerometer(
            bus: chip, chip: .chip(.adxl345), settings: AccelerometerSettings(rateHz: 100, useFIFO: false),
            interrupt: line, time: clock)
        try engine.start()
        var buffer = [TimedSample](repeating: .zero, count: 64)
        var times: [UInt64] = []
        let end = clock.monotonicNanoseconds() + 3_000_000_000
        while clock.monotonicNanoseconds() < end {
            let r = try buffer.withUnsafeMutableBufferPointer { try engine.read(into: $0) }
            times.append(contentsOf: buffer[0..<r.count].map(\.monotonicNs))
        }
        #expect(line.lateEdges > 20)
        // Every sample the chip handed out was delivered once: no duplicates, nothing invented.
        #expect(Int(engine.samplesDelivered) == chip.samples.delivered)
        #expect(
            Int(engine.samplesDelivered) + Int(engine.samplesLost) == chip.samples.produced
                - chip.samples.waiting)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
    }
}
