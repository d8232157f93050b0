import SensorBus
import TwitchCore

/// What the chip's status/source register said. Reading it acknowledges the interrupt.
struct ChipStatus: Sendable {
    /// Whole frames waiting in the FIFO (FIFO mode), or 1/0 for new data ready (bypass mode).
    var frames: Int
    /// The FIFO overran (or, in bypass mode, unread data was overwritten).
    var overrun: Bool
}

/// Self-test pass window per axis, in g (signed: the deflection's expected direction).
public struct SelfTestLimits: Sendable, Equatable {
    public var x: ClosedRange<Double>
    public var y: ClosedRange<Double>
    public var z: ClosedRange<Double>
}

/// One chip's register-level behaviour. Everything chip-specific lives behind this; the engine
/// (``Accelerometer``) is shared.
protocol ChipDriver: Sendable {
    var kind: ChipKind { get }
    var table: ChipTable { get }

    /// Puts the chip in standby (configuration registers may be written only here).
    func standby(_ bus: any SensorBus) throws(BusError)
    /// Writes the configuration while in standby, verifies it, then starts measuring.
    func configure(_ bus: any SensorBus, _ config: ChipConfiguration) throws(AccelerometerError)
    /// Reads (and thereby acknowledges) the interrupt source / FIFO status.
    func status(_ bus: any SensorBus, _ config: ChipConfiguration) throws(BusError) -> ChipStatus
    /// Reads `count` frames (FIFO or data registers) into `raw`, splitting bursts at frame
    /// boundaries within `bus.maxBurstLength`. `done` counts the frames read so far (valid in
    /// `raw` even when a later burst throws).
    func readFrames(
        _ bus: any SensorBus, _ config: ChipConfiguration, count: Int,
        into raw: UnsafeMutableRawBufferPointer,
        done: inout Int
    ) throws(BusError)
    /// Decodes the frame at `offset` into raw signed counts (x, y, z) in units of `gPerLSB`.
    func decode(_ raw: UnsafeMutableRawBufferPointer, at offset: Int, _ config: ChipConfiguration)
        -> (Int32, Int32, Int32)
    /// Empties the FIFO and clears its overrun flag, leaving the chip streaming.
    func flushFIFO(_ bus: any SensorBus, _ config: ChipConfiguration) throws(BusError)
    /// Turns the chip's self-test actuation on or off (through standby).
    func setSelfTest(_ bus: any SensorBus, _ config: ChipConfiguration, on: Bool) throws(AccelerometerError)
    /// Expected self-test deflection per axis in g, or nil when it cannot be judged.
    var selfTestLimits: SelfTestLimits? { get }
    /// After the ID register matched: checks any further identification registers.
    func confirmIdentity(_ bus: any SensorBus) throws(AccelerometerError)
}

extension ChipDriver {
    func confirmIdentity(_ bus: any SensorBus) throws(AccelerometerError) {}

    /// Writes `value` and reads it back.
    func writeVerified(_ bus: any SensorBus, _ register: UInt8, _ value: UInt8, mask: UInt8 = 0xFF)
        throws(AccelerometerError)
    {
        let back: UInt8
        do throws(BusError) {
            try bus.writeRegister(register, value: value)
            back = try bus.readRegister(register)
        } catch {
            throw .bus(error)
        }
        if back & mask != value & mask {
            throw .configurationNotApplied(chip: kind, register: register, wrote: value, readBack: back)
        }
    }

    /// Reads `count` frames of `table.frameBytes` from `register`, as many whole frames per
    /// transaction as `bus.maxBurstLength` allows (one per transaction when the chip cannot).
    func burstFrames(
        _ bus: any SensorBus, register: UInt8, count: Int, into raw: UnsafeMutableRawBufferPointer,
        done: inout Int
    ) throws(BusError) {
        let frameBytes = table.frameBytes
        let perBurst = table.framesPerBurst ? max(1, bus.maxBurstLength / frameBytes) : 1
        done = 0
        while done < count {
            let n = min(perBurst, count - done)
            let start = done * frameBytes
            let slice = UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + n * frameBytes)])
            try bus.readRegisters(register, into: slice)
            done += n
        }
    }
}

/// Little-endian signed 16-bit at `i`.
@inline(__always)
func le16(_ raw: UnsafeMutableRawBufferPointer, _ i: Int) -> Int32 {
    let lo: UInt16 = UInt16(raw[i])
    let hi: UInt16 = UInt16(raw[i + 1]) << 8
    return Int32(Int16(bitPattern: hi | lo))
}

/// Big-endian signed 16-bit at `i`.
@inline(__always)
func be16(_ raw: UnsafeMutableRawBufferPointer, _ i: Int) -> Int32 {
    let hi: UInt16 = UInt16(raw[i]) << 8
    let lo: UInt16 = UInt16(raw[i + 1])
    return Int32(Int16(bitPattern: hi | lo))
}

func wrapBus<T>(_ body: () throws(BusError) -> T) throws(AccelerometerError) -> T {
    do { return try body() } catch { throw .bus(error) }
}
