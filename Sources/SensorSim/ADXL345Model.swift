import SensorBus
public import TwitchCore

/// ADXL345 register model: DEVID, BW_RATE, POWER_CTL, INT_ENABLE/MAP/SOURCE, DATA_FORMAT
/// (full resolution, range, self-test), data registers, 32-entry FIFO (bypass, FIFO, stream) with
/// watermark and overrun. Reading the six data registers pops one FIFO entry (at the end of the
/// transaction); bursts auto-increment.
public final class ADXL345Model: SimulatedChip {
    override public var chipName: String { "adxl345" }
    override public var idRegister: UInt8 { 0x00 }

    private var fifo: [(Int32, Int32, Int32)] = []
    private var latest: (Int32, Int32, Int32) = (0, 0, 0)
    private var fresh = false
    private var overrun = false

    override public func powerOnReset() {
        super.powerOnReset()
        regs[0x00] = 0xE5
        regs[0x2C] = 0x0A
        fifo.removeAll()
        fresh = false
        overrun = false
    }

    override public var nominalRateHz: Double { 3200 / Double(1 << (15 - Int(min(regs[0x2C] & 0x0F, 15)))) }
    override public var registersSayMeasure: Bool { regs[0x2D] & 0x08 != 0 }
    override public var standbyOnlyRegisters: Set<UInt8> { [0x2C, 0x2E, 0x2F, 0x31] }

    private var fifoMode: UInt8 { regs[0x38] >> 6 }
    private var watermark: Int { Int(regs[0x38] & 0x1F) }
    private var gPerLSB: Double {
        regs[0x31] & 0x08 != 0 ? 0.0039 : 0.0039 * Double(1 << Int(regs[0x31] & 3))
    }
    private var bits: Int { regs[0x31] & 0x08 != 0 ? 10 + Int(regs[0x31] & 3) : 10 }
    override public var waitingSamples: Int { fifoMode == 0 ? (fresh ? 1 : 0) : fifo.count }

    private var intSource: UInt8 {
        var s: UInt8 = 0
        if fifoMode == 0 {
            if fresh { s |= 0x80 }
        } else {
            if !fifo.isEmpty { s |= 0x80 }
            if fifo.count >= watermark { s |= 0x02 }
        }
        if overrun { s |= 0x01 }
        return s
    }

    override public var interruptLevel: Bool { intSource & regs[0x2E] & ~regs[0x2F] != 0 }

    override public func produce(_ g: Vector3) {
        let s = Self.counts(g, gPerLSB: gPerLSB, bits: bits)
        if fifoMode == 0 {
            if fresh { overrun = true }
            latest = s
            fresh = true
            return
        }
        if fifo.count >= 32 {
            if fifoMode == 1 {  // FIFO mode: stops collecting when full
                overrun = true
                return
            }
            fifo.removeFirst()
            overrun = true
        }
        fifo.append(s)
    }

    override public func write(_ register: UInt8, _ value: UInt8) {
        regs[Int(register)] = value
        if register == 0x38 {
            stuckFIFO = false
            if value >> 6 == 0 {
                fifo.removeAll()
                overrun = false
            }
        }
        if register == 0x31 {
            selfTestOffset = value & 0x80 != 0 ? Vector3(x: 0.8, y: -0.8, z: 1.2) : .zero
        }
    }

    override public func readBurst(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) {
        let head = fifoMode == 0 ? latest : (fifo.first ?? latest)
        var coveredData = false
        for i in 0..<buffer.count {
            let r = Int(register) + i
            let v: UInt8
            switch r {
            case 0x30: v = intSource
            case 0x32...0x37:
                let k = r - 0x32
                let word = k < 2 ? head.0 : (k < 4 ? head.1 : head.2)
                let u = UInt16(bitPattern: Int16(truncatingIfNeeded: word))
                v = k % 2 == 0 ? UInt8(u & 0xFF) : UInt8(u >> 8)
                if r == 0x37 { coveredData = true }
            case 0x39: v = UInt8(min(fifo.count, 32)) | (fifo.count >= watermark ? 0 : 0)
            default: v = r < 256 ? regs[r] : 0
            }
            buffer[i] = v
        }
        if coveredData {
            overrun = false
            if fifoMode == 0 {
                if fresh { delivered() }
                fresh = false
            } else if !fifo.isEmpty {
                latest = fifo.removeFirst()
                delivered()
            }
        }
    }
}
