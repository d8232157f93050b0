import Accelerometers
import SensorSim
import Testing
import TwitchCore

/// Bus load per sample from the simulated bus's counters; prints the BENCHMARKS.md table.
///
/// Run: `swift test --filter BusLoadTests` (the table is printed on standard output).
@Suite("I2C bus load")
struct BusLoadTests {
    struct Load {
        var chip: ChipKind
        var mode: String
        var rate: Double
        var tx: Double
        var bytes: Double
        var bits: Double
    }

    static func measure(_ kind: ChipKind, settings: AccelerometerSettings, busHz: Double = 400_000) throws
        -> Load
    {
        let rig = try Rig(kind, settings: settings, oscillatorError: 0, busSpeedHz: busHz)
        try rig.engine.start()
        try rig.run(seconds: 1, keep: false)
        let before = rig.chip.counters
        let n = Double(try rig.run(seconds: 10, keep: false))
        let c = rig.chip.counters
        let mode =
            rig.engine.configuration.useFIFO
            ? "FIFO, watermark \(rig.engine.configuration.watermark)" : "bypass, per data-ready"
        return Load(
            chip: kind, mode: mode, rate: rig.engine.configuration.rateHz,
            tx: Double(c.transactions - before.transactions) / n,
            bytes: Double(c.bytesRead + c.bytesWritten - before.bytesRead - before.bytesWritten) / n,
            bits: Double(c.wireBits - before.wireBits) / n)
    }

    @Test("transactions, bytes and wire bits per sample; highest output rate at 100 and 400 kHz")
    func table() throws {
        var rows: [Load] = []
        for kind in ChipKind.allCases {
            rows.append(try Self.measure(kind, settings: .default))
            rows.append(try Self.measure(kind, settings: AccelerometerSettings(useFIFO: false)))
        }
        print(
            "| chip | mode | rate (Hz) | transactions/sample | payload bytes/sample | wire bits/sample | max ODR @100 kHz | max ODR @400 kHz |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for r in rows {
            print(
                "| \(r.chip.displayName) | \(r.mode) | \(Int(r.rate)) | \(f(r.tx, 3)) | \(f(r.bytes, 2)) | \(f(r.bits, 1)) | \(Int(100_000 / r.bits)) | \(Int(400_000 / r.bits)) |"
            )
        }
        for r in rows where r.mode.hasPrefix("FIFO") {
            // FIFO bursts: well under one transaction per sample, except the ADXL345, whose FIFO
            // is read through its data registers (one 6-byte read per sample).
            #expect(r.tx < (r.chip == .adxl345 ? 1.2 : 0.6))
            // Every chip's default rate fits a 100 kHz bus with room to spare in FIFO mode.
            #expect(100_000 / r.bits > r.rate * 1.5)
        }
    }

    @Test("highest chip output rate whose FIFO traffic fits the bus, at 100 and 400 kHz")
    func highestRates() throws {
        print("| chip | highest ODR that fits @100 kHz | highest ODR that fits @400 kHz |")
        print("|---|---|---|")
        for kind in ChipKind.allCases {
            var best100 = 0.0
            var best400 = 0.0
            for rate in kind.supportedRates where rate >= 50 {
                let load = try Self.measure(kind, settings: AccelerometerSettings(rateHz: rate))
                if rate * load.bits <= 100_000 { best100 = max(best100, rate) }
                if rate * load.bits <= 400_000 { best400 = max(best400, rate) }
            }
            print("| \(kind.displayName) | \(Int(best100)) | \(Int(best400)) |")
            #expect(best400 >= best100)
            #expect(best100 >= kind.defaultRate)
        }
    }

    @Test("each chip streams its default rate without loss on a 100 kHz bus", arguments: ChipKind.allCases)
    func slowBus(kind: ChipKind) throws {
        let rig = try Rig(kind, busSpeedHz: 100_000)
        try rig.engine.start()
        try rig.run(seconds: 5, keep: false)
        #expect(rig.lost == 0)
        #expect(rig.chip.samples.lost == 0)
    }
}

private func f(_ v: Double, _ d: Int) -> String {
    var scale = 1.0
    for _ in 0..<d { scale *= 10 }
    let s = String((v * scale).rounded() / scale)
    return s
}

@Suite("High output rates")
struct HighRateTests {
    @Test("ADXL345 at 3200 Hz on a 400 kHz bus and 800 Hz on a 100 kHz bus lose nothing")
    func adxl345Fast() throws {
        for (rate, bus) in [(3200.0, 400_000.0), (800.0, 100_000.0)] {
            let rig = try Rig(.adxl345, settings: AccelerometerSettings(rateHz: rate), busSpeedHz: bus)
            try rig.engine.start()
            try rig.run(seconds: 3, keep: false)
            #expect(rig.lost == 0, "\(rate) Hz at \(bus) Hz: lost \(rig.lost)")
            #expect(rig.chip.samples.lost == 0)
            #expect(rig.accountingBalances)
        }
    }

    @Test(
        "each chip's highest rate whose traffic fits a 400 kHz bus loses nothing",
        arguments: ChipKind.allCases)
    func highest(kind: ChipKind) throws {
        // The LSM6DSO's 6.66 kHz (7-byte FIFO words) needs more than 400 kbit/s: SPI territory.
        var fitting: [Double] = []
        for r in kind.supportedRates {
            let load = try BusLoadTests.measure(kind, settings: AccelerometerSettings(rateHz: r))
            if r * load.bits <= 400_000 { fitting.append(r) }
        }
        let rate = try #require(fitting.max())
        let rig = try Rig(kind, settings: AccelerometerSettings(rateHz: rate), busSpeedHz: 400_000)
        try rig.engine.start()
        try rig.run(seconds: 3, keep: false)
        #expect(rig.lost == 0, "\(kind) at \(rate) Hz: lost \(rig.lost)")
        #expect(rig.accountingBalances)
    }
}

@Suite("Late wake-ups at 3200 Hz")
struct LateWakeUpTests {
    /// Reads for `seconds` of virtual time; before every `every`-th read the host "wakes up"
    /// `lateNs` late (a busy machine), charged to the clock before its first transaction.
    static func run(lateNs: UInt64, every: Int = 1, busHz: Double, seconds: Double = 3) throws -> Rig {
        let rig = try Rig(.adxl345, settings: AccelerometerSettings(rateHz: 3200), busSpeedHz: busHz)
        try rig.engine.start()
        let end = rig.clock.monotonicNanoseconds() + UInt64(seconds * 1e9)
        var reads = 0
        while rig.clock.monotonicNanoseconds() < end {
            reads += 1
            if reads % every == 0 { rig.chip.stall(nanoseconds: lateNs) }
            let r = try rig.buffer.withUnsafeMutableBufferPointer { try rig.engine.read(into: $0) }
            rig.lost += r.lost
            if r.overrun { rig.overruns += 1 }
        }
        return rig
    }

    @Test("every wake-up up to 4 ms late loses nothing (watermark at half the 10 ms FIFO, fast bus)")
    func withinSlack() throws {
        let fifoNs = 32 * 1e9 / (3200 * 1.025)
        for lateMs in [0.0, 1, 2, 3, 4] {
            let rig = try Self.run(lateNs: UInt64(lateMs * 1e6), busHz: 3_400_000)
            let watermarkNs = Double(rig.engine.configuration.watermark) * 1e9 / (3200 * 1.025)
            #expect(rig.engine.configuration.watermark <= 16)
            #expect(lateMs * 1e6 < fifoNs - watermarkNs)
            #expect(rig.lost == 0, "\(lateMs) ms late: lost \(rig.lost)")
            #expect(rig.chip.samples.lost == 0)
            #expect(rig.accountingBalances)
            #expect(rig.engine.samplesDelivered > 9000)
        }
    }

    @Test("wake-ups later than the FIFO lasts lose samples, and every one is counted")
    func beyondFIFO() throws {
        let rig = try Self.run(lateNs: 12_000_000, every: 10, busHz: 3_400_000)
        #expect(rig.lost > 0)
        #expect(rig.overruns > 0)
        // Overwritten samples are counted from the sample clock at the flush: exact to within a
        // sample per overrun (the flush's own instant is only known to the bus transaction).
        #expect(
            abs(rig.lost - rig.chip.samples.lost) <= rig.overruns,
            "driver \(rig.lost), chip \(rig.chip.samples.lost)")
        #expect(rig.chip.samples.lost > 0)
        // Stream mode keeps the newest 32 samples through an overrun: only the overwritten ones
        // are lost, not the whole FIFO (a flush would lose more than 32 per overrun).
        #expect(rig.lost < rig.overruns * 32, "lost \(rig.lost) in \(rig.overruns) overruns")
    }
}
