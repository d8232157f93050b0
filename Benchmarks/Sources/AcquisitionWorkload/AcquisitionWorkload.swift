import Accelerometers
import SensorBus
import SensorSim
import Traces
import TwitchCore

/// The acquisition thread's work without its waits: the real ADXL345 driver (through
/// `ResilientAccelerometer`, as the daemon uses it) reading a register-level ADXL345 model on a
/// virtual clock, so the chip runs as fast as the CPU allows and no time is spent asleep.
///
/// `limb` feeds the chip from the Traces simulator (what `twitchd run` on `sim:adxl345` does);
/// without it, a resting limb with plain noise, so the driver and chip model cost shows alone.
public final class AcquisitionWorkload {
    let driver: ResilientAccelerometer
    let buffer: UnsafeMutableBufferPointer<TimedSample>
    let keep: [AnyObject]

    public init(rate: Double, limb: Bool) throws {
        let clock = VirtualClock()
        let source: any SensorSim.SampleSource
        if limb {
            var c = SimulationConfiguration()
            c.seed = 7
            c.duration = nil
            c.rate = rate
            c.sensor = .adxl345
            c.oscillatorError = 0
            source = SimulatorSampleSource(simulator: try TraceSimulator(configuration: c))
        } else {
            source = RestingSource()
        }
        let chip = ADXL345Model(address: 0x53, source: source, time: clock)
        driver = ResilientAccelerometer(
            bus: chip, chip: .chip(.adxl345), settings: AccelerometerSettings(rateHz: rate, rangeG: 2),
            interrupt: chip.interruptLine, time: clock)
        buffer = .allocate(capacity: 512)
        buffer.initialize(repeating: .zero)
        keep = [chip, source, clock]
        // Connect (ID check, configuration in standby, measure) before measuring.
        _ = read(samples: 1000)
    }

    deinit { buffer.deallocate() }

    /// Reads until `samples` samples have arrived; returns a checksum so nothing is optimised away.
    public func read(samples: Int) -> Double {
        var got = 0
        var sum = 0.0
        while got < samples {
            let r = driver.read(into: buffer)
            for i in 0..<r.count { sum += buffer[i].acceleration.z }
            got += r.count
        }
        return sum
    }
}
