import Accelerometers
import SensorBus
import SensorSim
import Sensors
import Testing
import TwitchCore

@Suite("Chip drivers against their simulated chips")
struct DriverTests {
    @Test(
        "probe finds the chip by its ID register at its address, nothing elsewhere",
        arguments: ChipKind.allCases)
    func probe(kind: ChipKind) throws {
        let clock = VirtualClock()
        let adapter = try #require(
            ChipRegistry.simulatedAdapter(spec: "sim:\(kind.rawValue)", source: RestingSource(), time: clock))
        let results = Accelerometer.probe(adapter: adapter, chips: ChipRegistry.kinds)
        #expect(results.map(\.address) == ChipRegistry.addresses)
        let found = results.filter { $0.chip != nil }
        #expect(found.count == 1)
        #expect(found.first?.chip == kind)
        #expect(found.first?.address == kind.addresses[0])
        #expect(results.filter { $0.outcome == .absent }.count == ChipRegistry.addresses.count - 1)
        // Probing touched nothing but ID registers: the chip is still in standby with no writes.
        let chip = try #require(adapter.chips.first)
        #expect(chip.counters.writeTransactions == 0)
        #expect(!chip.isMeasuring)
    }

    @Test("a wrong ID is reported, never driven", arguments: ChipKind.allCases)
    func wrongID(kind: ChipKind) throws {
        let rig = try Rig(kind)
        rig.chip.wrongID = 0x42
        #expect(throws: AccelerometerError.self) { try rig.engine.start() }
        #expect(rig.chip.counters.writeTransactions == 0)
        let adapter = SimulatedAdapter(name: "sim:test", chips: [rig.chip])
        let r = Accelerometer.probe(
            adapter: adapter, chips: ChipRegistry.kinds, addresses: [rig.chip.address])
        #expect(r.first?.chip == nil)
        if case .unknown(_, let v)? = r.first?.outcome {
            #expect(v == 0x42)
        } else {
            Issue.record("expected .unknown, got \(String(describing: r.first?.outcome))")
        }
    }

    @Test("configuration is written only in standby and applied", arguments: ChipKind.allCases)
    func configureInStandby(kind: ChipKind) throws {
        let rig = try Rig(kind)
        try rig.engine.start()
        #expect(rig.chip.isMeasuring)
        #expect(rig.chip.violations.isEmpty, "\(rig.chip.violations)")
        // Restart (as after an outage) while measuring: still only standby writes.
        try rig.run(seconds: 0.5)
        try rig.engine.start()
        try rig.run(seconds: 0.5)
        #expect(rig.chip.violations.isEmpty, "\(rig.chip.violations)")
        #expect(rig.engine.configuration.rangeG == 2)
        #expect(rig.engine.configuration.rateHz == kind.defaultRate)
        try rig.engine.standby()
        #expect(!rig.chip.isMeasuring)
    }

    @Test("the model flags configuration writes made while measuring")
    func modelFlagsViolations() throws {
        let rig = try Rig(.adxl345)
        try rig.engine.start()
        try rig.chip.writeRegister(0x2C, value: 0x0D)  // BW_RATE while measuring
        #expect(rig.chip.violations.count == 1)
    }

    @Test(
        "streams every sample with monotonic timestamps at the chip's true rate", arguments: ChipKind.allCases
    )
    func stream(kind: ChipKind) throws {
        let rig = try Rig(kind)
        try rig.engine.start()
        try rig.run(seconds: 10)
        let rate = trueRate(rig)
        #expect(rig.lost == 0)
        #expect(rig.chip.samples.lost == 0)
        #expect(rig.accountingBalances)
        #expect(abs(Double(rig.samples.count) - 10 * rate) < Double(kind.fifoCapacity) + 2)
        // Measured rate within 0.05 % of the true (oscillator-skewed) rate, not the nominal one.
        #expect(
            abs(rig.engine.measuredRate - rate) / rate < 5e-4,
            "measured \(rig.engine.measuredRate), true \(rate)")
        // Timestamps strictly increasing; after settling, spacing within 2 % of the true period.
        var worst = 0.0
        for i in 1..<rig.samples.count {
            #expect(rig.samples[i].monotonicNs > rig.samples[i - 1].monotonicNs)
            if i > rig.samples.count / 2 {
                let dt = Double(rig.samples[i].monotonicNs - rig.samples[i - 1].monotonicNs) * 1e-9
                worst = max(worst, abs(dt * rate - 1))
            }
        }
        // Every batch gets an exact anchor: the watermark edge, or for the MPU-6050 (no watermark
        // interrupt) the data-ready pulse of the batch's newest sample.
        #expect(worst < 0.02, "worst spacing error \(worst)")
        // Wall clock follows the monotonic clock.
        let s = try #require(rig.samples.last)
        #expect(
            s.realtimeNs - Int64(s.monotonicNs) == rig.clock.realtimeNanoseconds()
                - Int64(rig.clock.monotonicNanoseconds()))
    }

    @Test("sample timestamps match the chip's true sample times", arguments: ChipKind.allCases)
    func timestampAccuracy(kind: ChipKind) throws {
        let rig = try Rig(kind)
        try rig.engine.start()
        let t0 = rig.clock.monotonicNanoseconds()
        try rig.run(seconds: 6)
        let period = 1e9 / trueRate(rig)
        // The model produces sample k at start + k * period (start ~ t0): check the last second.
        let last = rig.samples.suffix(Int(trueRate(rig)))
        let n0 = rig.samples.count - last.count
        var worst = 0.0
        for (i, s) in last.enumerated() {
            let truth = Double(t0) + Double(n0 + i + 1) * period
            worst = max(worst, abs(Double(s.monotonicNs) - truth))
        }
        // Within half a period (and the configure transactions before t0 shift it by microseconds).
        #expect(worst < period * 0.5, "worst timestamp error \(worst / 1000) us")
    }

    @Test("a known input comes out in g to the LSB", arguments: ChipKind.allCases)
    func scale(kind: ChipKind) throws {
        let values = [
            Vector3(x: 0.5, y: -0.25, z: 1.0), Vector3(x: -1.2345, y: 0.0123, z: 0.9876),
            Vector3(x: 0.001, y: -0.002, z: 1.5), Vector3(x: 1.9, y: -1.9, z: 0),
        ]
        let rig = try Rig(kind, source: ArraySource(values, loops: true))
        try rig.engine.start()
        try rig.run(seconds: 0.5)
        let lsb = rig.engine.configuration.gPerLSB
        #expect(rig.samples.count > 20)
        for (i, s) in rig.samples.enumerated() {
            let v = values[i % values.count]
            for (got, want) in [(s.acceleration.x, v.x), (s.acceleration.y, v.y), (s.acceleration.z, v.z)] {
                let expected = (want / lsb).rounded() * lsb
                #expect(abs(got - expected) < lsb * 1e-6, "sample \(i): \(got) vs \(expected) (lsb \(lsb))")
            }
        }
    }

    @Test("negative full scale and clipping decode with the right sign", arguments: ChipKind.allCases)
    func clipping(kind: ChipKind) throws {
        let rig = try Rig(kind, source: ArraySource([Vector3(x: -5, y: 5, z: -0.0001)], loops: true))
        try rig.engine.start()
        try rig.run(seconds: 0.2)
        let s = try #require(rig.samples.first)
        // Full scale is ±2 g nominal; two's complement gives one more LSB on the negative side.
        #expect(s.acceleration.x < -1.9 && s.acceleration.x >= -2.05)
        #expect(s.acceleration.y > 1.9 && s.acceleration.y <= 2.05)
        #expect(s.acceleration.z <= 0)
    }

    @Test("FIFO streaming uses watermark batches and burst reads", arguments: ChipKind.allCases)
    func watermarkBatches(kind: ChipKind) throws {
        let rig = try Rig(kind)
        try rig.engine.start()
        try rig.run(seconds: 1)
        let before = rig.chip.counters
        let n = try rig.run(seconds: 5)
        let tx = Double(rig.chip.counters.transactions - before.transactions) / Double(n)
        let wm = Double(rig.engine.configuration.watermark)
        if kind == .adxl345 {
            // Its FIFO is read through the data registers: one 6-byte read per sample, plus
            // INT_SOURCE and FIFO_STATUS once per watermark.
            #expect(tx <= 1 + 2 / wm + 0.05, "\(tx) transactions per sample")
        } else {
            #expect(tx < 0.6, "\(tx) transactions per sample")
        }
        if kind != .mpu6050 {
            // One interrupt per watermark, not per sample.
            let edges = (rig.chip.interruptLine as SimulatedInterruptLine).edges
            #expect(Double(edges) < Double(n) / wm * 1.2 + 5)
        }
    }

    @Test("bursts never exceed the bus's limit and never split a frame", arguments: ChipKind.allCases)
    func smallBursts(kind: ChipKind) throws {
        let rig = try Rig(kind, maxBurst: 12)
        try rig.engine.start()
        try rig.run(seconds: 2)
        #expect(rig.lost == 0)
        #expect(rig.accountingBalances)
        #expect(rig.chip.samples.lost == 0)
    }

    @Test("FIFO overrun after a stall: flushed, lost count exact", arguments: ChipKind.allCases)
    func overrun(kind: ChipKind) throws {
        let rig = try Rig(kind)
        try rig.engine.start()
        try rig.run(seconds: 3)
        #expect(rig.lost == 0)
        // The host is descheduled for 0.7 s more than the FIFO holds (1.2 s for the LSM6DSO's 512).
        let holds = Double(kind.fifoCapacity) / kind.defaultRate
        rig.chip.stall(nanoseconds: UInt64((0.7 + holds) * 1e9))
        try rig.run(seconds: 2)
        #expect(rig.overruns == 1)
        #expect(rig.lost > Int(0.6 * trueRate(rig)))
        // The driver's count equals what the chip really dropped.
        #expect(
            rig.lost == rig.chip.samples.lost,
            "driver \(rig.lost), chip \(rig.chip.samples.lost)")
        #expect(Int(rig.engine.samplesDelivered) == rig.chip.samples.delivered)
        #expect(rig.accountingBalances)
        // Timestamps stay on the chip's clock across the gap.
        let gaps = zip(rig.samples, rig.samples.dropFirst()).map {
            Double(Int64(bitPattern: $1.monotonicNs &- $0.monotonicNs))
        }
        #expect(gaps.allSatisfy { $0 > 0 }, "timestamps go backwards: \(gaps.filter { $0 <= 0 }.prefix(5))")
        let period = 1e9 / trueRate(rig)
        let big = gaps.filter { $0 > 2 * period }
        #expect(big.count == 1)
        if let g = big.first {
            #expect(
                abs(g / period - Double(rig.lost + 1)) < 1.5, "gap \(g / period) periods, lost \(rig.lost)")
        }
    }

    @Test("bypass mode: one sample per data-ready edge", arguments: ChipKind.allCases)
    func bypassInterrupt(kind: ChipKind) throws {
        let rig = try Rig(kind, settings: AccelerometerSettings(useFIFO: false))
        try rig.engine.start()
        try rig.run(seconds: 3)
        #expect(!rig.engine.configuration.useFIFO)
        #expect(rig.lost == 0)
        #expect(rig.chip.samples.lost == 0)
        #expect(rig.accountingBalances)
        #expect(abs(Double(rig.samples.count) - 3 * trueRate(rig)) < 3)
        let rate = trueRate(rig)
        #expect(abs(rig.engine.measuredRate - rate) / rate < 1e-3)
        #expect(rig.chip.violations.isEmpty)
    }

    @Test(
        "bypass mode without an interrupt line polls and counts missed samples", arguments: ChipKind.allCases)
    func bypassPolling(kind: ChipKind) throws {
        let rig = try Rig(kind, settings: AccelerometerSettings(useFIFO: false), interrupt: false)
        try rig.engine.start()
        try rig.run(seconds: 3)
        rig.chip.stall(nanoseconds: 50_000_000)
        try rig.run(seconds: 1)
        // Whatever was missed is reported: delivered + lost covers everything produced.
        #expect(
            rig.accountingBalances,
            "delivered \(rig.engine.samplesDelivered) lost \(rig.engine.samplesLost) produced \(rig.chip.samples.produced)"
        )
        #expect(rig.lost >= Int(0.04 * trueRate(rig)))
    }

    @Test("FIFO without an interrupt line polls at the FIFO's pace", arguments: ChipKind.allCases)
    func fifoPolling(kind: ChipKind) throws {
        let rig = try Rig(kind, interrupt: false)
        try rig.engine.start()
        try rig.run(seconds: 1)
        let before = rig.chip.counters.transactions
        let n = try rig.run(seconds: 4)
        #expect(rig.lost == 0)
        #expect(rig.accountingBalances)
        let tx = Double(rig.chip.counters.transactions - before) / Double(n)
        #expect(tx < (kind == .adxl345 ? 1.3 : 0.7), "\(tx) transactions per sample")
    }
}

@Suite("Passive register file (i2c-stub style)")
struct PassiveRegisterFileTests {
    @Test("bypass mode reading only on edges never reads a sample twice when the feeder pauses")
    func edgesOnly() throws {
        let rig = try Rig(.adxl345, settings: AccelerometerSettings(useFIFO: false, readOnlyOnEdges: true))
        try rig.engine.start()
        try rig.run(seconds: 2)
        #expect(Int(rig.engine.samplesDelivered) == rig.chip.samples.delivered)
        #expect(rig.lost == 0)
        // The chip stops (standby behind the driver's back): no edges, no reads of stale data.
        try rig.chip.writeRegister(0x2D, value: 0)
        let before = rig.chip.counters.readTransactions
        let n = try rig.run(seconds: 1)
        #expect(n == 0)
        #expect(rig.chip.counters.readTransactions == before)
    }
}

@Suite("Probe on a real bus path")
struct ProbeBusTests {
    @Test("a missing /dev/i2c-N is a clear 'no such bus' error, not a crash")
    func missingBus() {
        do {
            _ = try LinuxI2CAdapter(path: "/dev/i2c-twitchd-test-missing")
            Issue.record("opening a missing bus succeeded")
        } catch {
            #expect(error.kind == .noSuchBus)
            #expect(error.description.contains("/dev/i2c-twitchd-test-missing"))
        }
    }
}
