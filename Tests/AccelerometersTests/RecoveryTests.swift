import Accelerometers
import SensorBus
import SensorSim
import Sensors
import Testing
import TwitchCore

/// The resilient wrapper on a simulated chip, read until some virtual time has passed.
final class ResilientRig {
    let clock = VirtualClock()
    let chip: SimulatedChip
    let sensor: ResilientAccelerometer
    var buffer = [TimedSample](repeating: .zero, count: 256)
    var events: [SensorEvent] = []
    var delivered = 0
    var lost = 0

    init(_ kind: ChipKind, settings: AccelerometerSettings = .default, interrupt: Bool = true) throws {
        let row = try #require(ChipRegistry.row(kind))
        chip = row.makeModel(source: RestingSource(), time: clock)
        sensor = ResilientAccelerometer(
            bus: chip, chip: .identify(among: ChipRegistry.kinds), settings: settings,
            interrupt: interrupt ? chip.interruptLine : nil,
            time: clock)
    }

    func run(seconds: Double) {
        let end = clock.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while clock.monotonicNanoseconds() < end {
            let r = buffer.withUnsafeMutableBufferPointer { sensor.read(into: $0) }
            delivered += r.count
            lost += r.lost
            if let e = r.event { events.append(e) }
        }
    }

    var lostEvents: Int { events.filter { if case .lost = $0 { return true } else { return false } }.count }
    var backEvents: [(UInt64, Int)] {
        events.compactMap { if case .back(let ns, let n) = $0 { return (ns, n) } else { return nil } }
    }
}

@Suite("Fault injection and recovery")
struct RecoveryTests {
    @Test("a few NACKs or EIOs are retried without an outage", arguments: ChipKind.allCases)
    func transientErrors(kind: ChipKind) throws {
        let rig = try ResilientRig(kind)
        rig.run(seconds: 1)
        #expect(rig.events.first == .connected(ChipConfiguration(chip: kind, settings: .default)))
        rig.chip.injectNACK(count: 2)
        rig.run(seconds: 0.5)
        rig.chip.injectBusErrors(count: 3)
        rig.run(seconds: 0.5)
        #expect(rig.lostEvents == 0, "\(rig.events)")
        #expect(rig.sensor.isConnected)
        #expect(rig.lost == 0)
        let expected = 2 * kind.defaultRate * 1.025
        #expect(abs(Double(rig.delivered) - expected) < Double(kind.fifoCapacity) + 4)
        #expect(rig.chip.samples.lost == 0)
    }

    @Test(
        "an EIO burst longer than the retries is an outage: lost, then back and reconfigured",
        arguments: ChipKind.allCases)
    func eioBurst(kind: ChipKind) throws {
        let rig = try ResilientRig(kind)
        rig.run(seconds: 1)
        rig.chip.injectBusErrors(count: 12)
        rig.run(seconds: 2)
        #expect(rig.lostEvents == 1, "\(rig.events)")
        #expect(rig.backEvents.count == 1)
        #expect(rig.sensor.isConnected)
        #expect(rig.chip.isMeasuring)
        #expect(rig.chip.violations.isEmpty)
    }

    @Test(
        "the device vanishes and returns: reported, re-probed, re-configured, lost counted",
        arguments: ChipKind.allCases)
    func vanishAndReturn(kind: ChipKind) throws {
        let rig = try ResilientRig(kind)
        rig.run(seconds: 2)
        let producedBefore = rig.chip.samples.produced
        rig.chip.vanish(forNanoseconds: 3_000_000_000)
        rig.run(seconds: 6)
        #expect(rig.lostEvents == 1, "\(rig.events)")
        let back = try #require(rig.backEvents.first)
        // The outage lasted about 3 s (plus backoff up to 1 s).
        #expect(back.0 >= 2_900_000_000 && back.0 < 4_200_000_000, "outage \(back.0)")
        let rate = kind.defaultRate * 1.025
        #expect(abs(Double(back.1) - Double(back.0) * 1e-9 * rate) < 2)
        // Streaming resumed at the right rate after the power-on reset.
        #expect(rig.chip.isMeasuring)
        #expect(rig.chip.violations.isEmpty)
        #expect(rig.chip.samples.produced > producedBefore + Int(1.5 * rate))
        #expect(abs(rig.sensor.measuredRate - rate) / rate < 1e-3)
        #expect(rig.sensor.outages == 1)
    }

    @Test("a device that never answers is reported once and retried with backoff")
    func neverThere() throws {
        let rig = try ResilientRig(.adxl345)
        rig.chip.vanish()
        let before = rig.chip.counters.transactions
        rig.run(seconds: 10)
        #expect(rig.lostEvents == 1)
        #expect(rig.delivered == 0)
        // Backoff doubling to 1 s: a handful of attempts, not thousands.
        let attempts = rig.chip.counters.transactions - before
        #expect(attempts > 5 && attempts < 30, "\(attempts) attempts in 10 s")
        rig.chip.reappear()
        rig.run(seconds: 2)
        #expect(rig.sensor.isConnected)
        #expect(rig.delivered > 0)
    }

    @Test("a stuck FIFO is detected as a stall and recovered by reconfiguring", arguments: ChipKind.allCases)
    func stuckFIFO(kind: ChipKind) throws {
        let rig = try ResilientRig(kind)
        rig.run(seconds: 1)
        rig.chip.stuckFIFO = true
        rig.run(seconds: 3)
        #expect(rig.lostEvents == 1, "\(rig.events)")
        #expect(rig.backEvents.count == 1)
        #expect(!rig.chip.stuckFIFO)
        let before = rig.delivered
        rig.run(seconds: 1)
        #expect(rig.delivered - before > Int(0.8 * kind.defaultRate))
    }

    @Test("overrun after a stall is reported with its count", arguments: ChipKind.allCases)
    func overrunEvent(kind: ChipKind) throws {
        let rig = try ResilientRig(kind)
        rig.run(seconds: 2)
        // Longer than the FIFO holds.
        rig.chip.stall(nanoseconds: UInt64((0.5 + Double(kind.fifoCapacity) / kind.defaultRate) * 1e9))
        rig.run(seconds: 1)
        let overruns = rig.events.compactMap { if case .overrun(let n) = $0 { return n } else { return nil } }
        #expect(overruns.count == 1)
        #expect(overruns.first == rig.chip.samples.lost)
    }

    @Test("a wrong ID keeps the sensor down until the right chip answers")
    func wrongIDThenRight() throws {
        let rig = try ResilientRig(.lis3dh)
        rig.chip.wrongID = 0x32
        rig.run(seconds: 3)
        #expect(!rig.sensor.isConnected)
        #expect(rig.lostEvents == 1)
        #expect(rig.chip.counters.writeTransactions == 0)
        rig.chip.wrongID = nil
        rig.run(seconds: 3)
        #expect(rig.sensor.isConnected)
        #expect(rig.delivered > 0)
    }
}
