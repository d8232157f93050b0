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

/// A bus whose ADXL345 never says DATA_READY in INT_SOURCE (0x30): only the line announces a
/// sample, as with the kernel-level test's feeder under `--no-data-ready`, or a line that rises
/// before the status register says so.
private final class SilentStatusBus: SensorBus {
    let inner: any SensorBus
    init(_ inner: any SensorBus) { self.inner = inner }
    var address: UInt8 { inner.address }
    var maxBurstLength: Int { inner.maxBurstLength }
    var name: String { "silent-status(\(inner.name))" }
    func readRegister(_ register: UInt8) throws(BusError) -> UInt8 {
        let v = try inner.readRegister(register)
        return register == 0x30 ? v & ~0x80 : v
    }
    func writeRegister(_ register: UInt8, value: UInt8) throws(BusError) {
        try inner.writeRegister(register, value: value)
    }
    func readRegisters(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(BusError) {
        try inner.readRegisters(register, into: buffer)
        if register == 0x30, buffer.count > 0 { buffer[0] &= ~0x80 }
    }
}

/// A simulated ADXL345 at rest.
private func restingADXL345(_ clock: VirtualClock) throws -> SimulatedChip {
    try #require(ChipRegistry.row(.adxl345)).makeModel(
        source: RestingSource(), time: clock, oscillatorError: 0.01, maxBurstLength: 32,
        busSpeedHz: 400_000)
}

/// Starts `engine` and reads for three seconds of `clock`; the delivered samples' times.
private func readForThreeSeconds(_ engine: Accelerometer, _ clock: VirtualClock) throws -> [UInt64] {
    try engine.start()
    var buffer = [TimedSample](repeating: .zero, count: 64)
    var times: [UInt64] = []
    let end = clock.monotonicNanoseconds() + 3_000_000_000
    while clock.monotonicNanoseconds() < end {
        let r = try buffer.withUnsafeMutableBufferPointer { try engine.read(into: $0) }
        times.append(contentsOf: buffer[0..<r.count].map(\.monotonicNs))
    }
    return times
}

@Suite("Bypass mode and late edges")
struct StaleEdgeTests {
    @Test("an edge older than the last read announces a sample already taken: never read twice")
    func lateEdgeIsNotASecondSample() throws {
        let clock = VirtualClock()
        let chip = try restingADXL345(clock)
        let line = LateEdgeLine(chip.interruptLine, holdEvery: 7)
        let engine = try Accelerometer(
            bus: chip, chip: .chip(.adxl345), settings: AccelerometerSettings(rateHz: 100, useFIFO: false),
            interrupt: line, time: clock)
        let times = try readForThreeSeconds(engine, clock)
        #expect(line.lateEdges > 20)
        // Every sample the chip handed out was delivered once: no duplicates, nothing invented.
        #expect(Int(engine.samplesDelivered) == chip.samples.delivered)
        #expect(
            Int(engine.samplesDelivered) + Int(engine.samplesLost) == chip.samples.produced
                - chip.samples.waiting)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("an edge queued just before a poll that found nothing still announces its sample")
    func edgeBeforeAnEmptyPollIsRead() throws {
        // The wait times out, the edge arrives, the poll finds no DATA_READY (the line rose first,
        // or the register never says so), then the wait hands out the queued edge: it is the only
        // announcement of its sample, so the sample must be read, not dropped as "already read".
        let clock = VirtualClock()
        let chip = try restingADXL345(clock)
        let line = LateEdgeLine(chip.interruptLine, holdEvery: 7)
        let engine = try Accelerometer(
            bus: SilentStatusBus(chip), chip: .chip(.adxl345),
            settings: AccelerometerSettings(rateHz: 100, useFIFO: false),
            interrupt: line, time: clock)
        let times = try readForThreeSeconds(engine, clock)
        #expect(line.lateEdges > 20)
        // Every sample was delivered once: none dropped with its late edge, none read twice.
        #expect(engine.samplesLost == 0)
        #expect(Int(engine.samplesDelivered) == chip.samples.delivered)
        #expect(Int(engine.samplesDelivered) == chip.samples.produced - chip.samples.waiting)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
    }
}
