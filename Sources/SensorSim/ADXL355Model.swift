import SensorBus
public import TwitchCore

/// ADXL355 register model: DEVID_AD/MST, PARTID, STATUS (DATA_RDY, FIFO_FULL = watermark,
/// FIFO_OVR; read clears DATA_RDY and FIFO_OVR), FIFO_ENTRIES, 20-bit big-endian left-justified
/// data registers, FIFO_DATA (no auto-increment; x-axis marker and empty flag in each word),
/// FILTER (ODR), FIFO_SAMPLES, INT_MAP, RANGE (with INT_POL), POWER_CTL (standby), SELF_TEST.
/// Entering standby empties the FIFO.
public final class ADXL355Model: SimulatedChip {
    override public var chipName: String { "adxl355" }
    override public var idRegister: UInt8 { 0x00 }

    /// FIFO of words: value (20-bit) and whether it is an x-axis word.
    private var words: [(Int32, Bool)] = []
    private var latest: (Int32, Int32, Int32) = (0, 0, 0)
    private var dataReady = false
    private var fifoOverrun = false
    private var wordByte = 0
    private var currentWord: (Int32, Bool, Bool) = (0, false, true)

    override public func powerOnReset() {
        super.powerOnReset()
        regs[0x00] = 0xAD
        regs[0x01] = 0x1D
        regs[0x02] = 0xED
        regs[0x03] = 0x01
        regs[0x29] = 0x60
        regs[0x2C] = 0x81
        regs[0x2D] = 0x01
        words.removeAll()
        dataReady = false
        fifoOverrun = false
        wordByte = 0
    }

    override public var nominalRateHz: Double { 4000 / Double(1 << Int(min(regs[0x28] & 0x0F, 10))) }
    override public var registersSayMeasure: Bool { regs[0x2D] & 0x01 == 0 }
    override public var standbyOnlyRegisters: Set<UInt8> { [0x28, 0x29, 0x2A, 0x2C] }

    private var gPerLSB: Double {
        switch regs[0x2C] & 3 {
        case 2: return 1.0 / 128_000
        case 3: return 1.0 / 64_000
        default: return 1.0 / 256_000
        }
    }
    /// With FIFO interrupts mapped the host reads the FIFO; otherwise the data registers.
    private var fifoInUse: Bool { regs[0x2A] & 0x06 != 0 }
    private var fresh = false
    override public var waitingSamples: Int { fifoInUse ? words.count / 3 : (fresh ? 1 : 0) }

    private var status: UInt8 {
        var s: UInt8 = 0
        if dataReady { s |= 0x01 }
        if words.count >= Int(regs[0x29]) && regs[0x29] > 0 { s |= 0x02 }
        if fifoOverrun { s |= 0x04 }
        return s
    }

    override public var interruptLevel: Bool {
        let m = regs[0x2A]
        let st = status
        let level =
            (m & 0x01 != 0 && st & 0x01 != 0) || (m & 0x02 != 0 && st & 0x02 != 0)
            || (m & 0x04 != 0 && st & 0x04 != 0)
        return regs[0x2C] & 0x40 != 0 ? level : !level  // INT_POL
    }

    override public func produce(_ g: Vector3) {
        let s = Self.counts(g, gPerLSB: gPerLSB, bits: 20)
        latest = s
        dataReady = true
        fresh = true
        if words.count + 3 > 96 {
            fifoOverrun = true
            return  // the FIFO keeps its oldest data; the new sample is lost
        }
        words.append((s.0, true))
        words.append((s.1, false))
        words.append((s.2, false))
    }

    override public func write(_ register: UInt8, _ value: UInt8) {
        if register == 0x2F && value == 0x52 {
            powerOnReset()
            updateMeasuring()
            return
        }
        regs[Int(register)] = value
        if register == 0x2D && value & 0x01 != 0 {
            words.removeAll()
            fifoOverrun = false
            stuckFIFO = false
            wordByte = 0
        }
        if register == 0x2E {
            selfTestOffset = value & 0x03 == 0x03 ? Vector3(x: 0.3, y: 0.3, z: 1.5) : .zero
        }
    }

    private static func bytes(_ v: Int32) -> (UInt8, UInt8, UInt8) {
        let u = UInt32(bitPattern: v << 12)
        return (UInt8(u >> 24), UInt8(u >> 16 & 0xFF), UInt8(u >> 8 & 0xF0))
    }

    override public func readBurst(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) {
        var r = Int(register)
        for i in 0..<buffer.count {
            switch r {
            case 0x04:
                buffer[i] = status
                dataReady = false
                fifoOverrun = false
            case 0x05: buffer[i] = UInt8(words.count)
            case 0x08...0x10:
                let k = r - 0x08
                let v = k < 3 ? latest.0 : (k < 6 ? latest.1 : latest.2)
                let b = Self.bytes(v)
                buffer[i] = [b.0, b.1, b.2][k % 3]
                if r == 0x10 && !fifoInUse {
                    if fresh { delivered() }
                    fresh = false
                }
            case 0x11:
                if wordByte == 0 {
                    if let w = words.first {
                        words.removeFirst()
                        currentWord = (w.0, w.1, false)
                        if !w.1 && words.count % 3 == 0 {
                            // popped a z word: one sample read out
                            delivered()
                        }
                    } else {
                        currentWord = (0, false, true)
                    }
                }
                let b = Self.bytes(currentWord.0)
                switch wordByte {
                case 0: buffer[i] = b.0
                case 1: buffer[i] = b.1
                default: buffer[i] = b.2 | (currentWord.1 ? 0x01 : 0) | (currentWord.2 ? 0x02 : 0)
                }
                wordByte = (wordByte + 1) % 3
            default: buffer[i] = regs[r & 0xFF]
            }
            if r != 0x11 { r = (r + 1) & 0xFF }
        }
        if r != 0x11 || register != 0x11 { wordByte = wordByte % 3 }
    }
}
