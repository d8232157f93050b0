import Accelerometers
import SensorBus
import SensorSim
import Sensors
import Testing
import TwitchCore

extension ChipKind {
    /// Every chip in the registry, for parameterised tests.
    static var allCases: [ChipKind] { ChipRegistry.kinds }
}

/// A simulated chip on a virtual clock with a driver on top.
final class Rig {
    let clock: VirtualClock
    let chip: SimulatedChip
    let kind: ChipKind
    let engine: Accelerometer
    var buffer: [TimedSample]
    var samples: [TimedSample] = []
    var lost = 0
    var overruns = 0

    init(
        _ kind: ChipKind, source: any SampleSource = RestingSource(),
        settings: AccelerometerSettings = .default,
        interrupt: Bool = true, oscillatorError: Double = 0.025, busSpeedHz: Double = 400_000,
        maxBurst: Int = 32, bufferSize: Int = 256
    ) throws {
        clock = VirtualClock()
        let row = try #require(ChipRegistry.row(kind))
        chip = row.makeModel(
            source: source, time: clock, oscillatorError: oscillatorError, maxBurstLength: maxBurst,
            busSpeedHz: busSpeedHz)
        self.kind = kind
        engine = try Accelerometer(
            bus: chip, chip: .chip(kind), settings: settings, interrupt: interrupt ? chip.interruptLine : nil,
            time: clock)
        buffer = [TimedSample](repeating: .zero, count: bufferSize)
    }

    /// Reads until `seconds` of virtual time have passed (or the source is exhausted and drained).
    @discardableResult
    func run(seconds: Double, keep: Bool = true) throws -> Int {
        let end = clock.monotonicNanoseconds() + UInt64(seconds * 1e9)
        var got = 0
        var idle = 0
        while clock.monotonicNanoseconds() < end {
            let r = try buffer.withUnsafeMutableBufferPointer { try engine.read(into: $0) }
            if keep { samples.append(contentsOf: buffer[0..<r.count]) }
            got += r.count
            lost += r.lost
            if r.overrun { overruns += 1 }
            if r.count == 0 && chip.sourceExhausted {
                idle += 1
                if idle > 3 { break }
            }
        }
        return got
    }

    /// Every sample the chip produced is either delivered by the driver, reported lost, or
    /// still waiting in the chip.
    var accountingBalances: Bool {
        Int(engine.samplesDelivered) + Int(engine.samplesLost) == chip.samples.produced - chip.samples.waiting
    }
}

/// The rate the simulated chip really runs at.
func trueRate(_ rig: Rig) -> Double {
    rig.engine.configuration.rateHz * (1 + rig.chip.oscillatorError)
}
