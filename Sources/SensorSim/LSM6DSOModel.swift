import SensorBus
public import TwitchCore

/// LSM6DSO / LSM6DSOX register model (accelerometer path): WHO_AM_I (0x6C), CTRL1_XL (ODR, full
/// scale), CTRL3_C (BDU, IF_INC, SW_RESET), CTRL5_C (self-test), STATUS_REG (XLDA, cleared by
/// reading OUTZ_H_A), OUTX_L_A..OUTZ_H_A, INT1_CTRL, and the tagged FIFO: FIFO_CTRL1..4
/// (watermark, batch rate, mode: bypass, FIFO, continuous), FIFO_STATUS1/2 (level, WTM_IA,
/// OVR_IA, FULL_IA, OVR_LATCHED cleared by reading STATUS2) and FIFO_DATA_OUT_TAG..Z_H, 512
/// words of a tag byte and six data bytes. Reading a word's last byte pops it; with IF_INC a
/// burst wraps from 0x7E back to 0x78. A continuous FIFO overwrites its oldest word when full.
public final class LSM6DSOModel: SimulatedChip {
    override public var chipName: String { "lsm6dso" }
    override public var idRegister: UInt8 { 0x0F }

    static let capacity = 512
    /// Accelerometer words, oldest at `head` (a ring: no allocation per sample).
    private var ring = [(Int32, Int32, Int32)](repeating: (0, 0, 0), count: LSM6DSOModel.capacity)
    private var head = 0
    private var count = 0
    private var latest: (Int32, Int32, Int32) = (0, 0, 0)
    private var fresh = false
    private var overrunNow = false
    private var overrunLatched = false
    /// Samples since the last batched one (batch rate below the output rate).
    private var sinceBatch = 0
    /// The word being read out through 0x78..0x7E.
    private var word: (Int32, Int32, Int32)? = nil
    private var tagCounter: UInt8 = 0

    override public func powerOnReset() {
        super.powerOnReset()
        regs[0x0F] = 0x6C
        regs[0x12] = 0x04  // IF_INC
        clearFIFO()
        fresh = false
    }

    private func clearFIFO() {
        head = 0
        count = 0
        overrunNow = false
        overrunLatched = false
        sinceBatch = 0
        word = nil
    }

    private static let odr: [Double] = [0, 12.5, 26, 52, 104, 208, 416, 833, 1666, 3332, 6664, 1.6]
    private static func rate(code: Int) -> Double { code < odr.count ? odr[code] : 0 }

    override public var nominalRateHz: Double { Self.rate(code: Int(regs[0x10] >> 4)) }
    override public var registersSayMeasure: Bool { nominalRateHz > 0 }
    override public var standbyOnlyRegisters: Set<UInt8> { [0x07, 0x08, 0x09, 0x0D, 0x12, 0x14] }

    private var fifoMode: UInt8 { regs[0x0A] & 0x07 }
    private var batchRate: Double { Self.rate(code: Int(regs[0x09] & 0x0F)) }
    private var fifoInUse: Bool { fifoMode != 0 && batchRate > 0 }
    private var watermark: Int { Int(regs[0x07]) | Int(regs[0x08] & 1) << 8 }
    private var gPerLSB: Double {
        switch regs[0x10] >> 2 & 3 {
        case 1: return 0.000488
        case 2: return 0.000122
        case 3: return 0.000244
        default: return 0.000061
        }
    }
    override public var waitingSamples: Int { fifoInUse ? count + (word == nil ? 0 : 1) : (fresh ? 1 : 0) }

    private var status2: UInt8 {
        var s = UInt8(count >> 8 & 0x03)
        if watermark > 0 && count >= watermark { s |= 0x80 }
        if overrunNow { s |= 0x40 }
        if count >= Self.capacity { s |= 0x20 }
        if overrunLatched { s |= 0x08 }
        return s
    }

    override public var interruptLevel: Bool {
        let m = regs[0x0D]
        let s = status2
        return (m & 0x01 != 0 && fresh) || (m & 0x08 != 0 && s & 0x80 != 0)
            || (m & 0x10 != 0 && s & 0x40 != 0) || (m & 0x20 != 0 && s & 0x20 != 0)
    }

    override public func produce(_ g: Vector3) {
        let s = Self.counts(g, gPerLSB: gPerLSB, bits: 16)
        latest = s
        fresh = true
        guard fifoInUse else { return }
        // A batch rate below the output rate keeps every n-th sample.
        let every = max(1, Int((nominalRateHz / batchRate).rounded()))
        sinceBatch += 1
        guard sinceBatch >= every else { return }
        sinceBatch = 0
        if count >= Self.capacity {
            if fifoMode == 1 { return }  // FIFO mode: stops when full
            head = (head + 1) % Self.capacity  // continuous: the oldest word is overwritten
            count -= 1
            overrunNow = true
            overrunLatched = true
        }
        ring[(head + count) % Self.capacity] = s
        count += 1
    }

    override public func write(_ register: UInt8, _ value: UInt8) {
        regs[Int(register)] = value
        switch register {
        case 0x0A:
            stuckFIFO = false
            if value & 0x07 == 0 { clearFIFO() }
        case 0x12 where value & 0x01 != 0:  // SW_RESET
            powerOnReset()
        case 0x14:
            selfTestOffset = value & 0x03 == 0x01 ? Vector3(x: 0.5, y: 0.5, z: 0.5) : .zero
        default: break
        }
    }

    private static func byte(_ s: (Int32, Int32, Int32), _ k: Int) -> UInt8 {
        let v = k < 2 ? s.0 : (k < 4 ? s.1 : s.2)
        let u = UInt16(bitPattern: Int16(truncatingIfNeeded: v))
        return k % 2 == 0 ? UInt8(u & 0xFF) : UInt8(u >> 8)
    }

    /// Takes the oldest word out of the FIFO into the output registers, unless one is there.
    private func loadWord() {
        guard word == nil, count > 0 else { return }
        word = ring[head]
        head = (head + 1) % Self.capacity
        count -= 1
        overrunNow = false
        tagCounter = (tagCounter + 1) & 3
    }

    override public func readBurst(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) {
        let increment = regs[0x12] & 0x04 != 0
        var r = Int(register)
        for i in 0..<buffer.count {
            switch r {
            case 0x1E: buffer[i] = fresh ? 0x01 : 0
            case 0x28...0x2D:
                buffer[i] = Self.byte(latest, r - 0x28)
                if r == 0x2D {
                    if fresh && !fifoInUse { delivered() }
                    fresh = false
                }
            case 0x3A: buffer[i] = UInt8(count & 0xFF)
            case 0x3B:
                buffer[i] = status2
                overrunLatched = false
            case 0x78:
                // The tag of the word at the head: TAG_SENSOR 0x02 (accelerometer), TAG_CNT.
                loadWord()
                buffer[i] = word == nil ? 0 : 0x02 << 3 | tagCounter << 1
            case 0x79...0x7E:
                loadWord()
                buffer[i] = word.map { Self.byte($0, r - 0x79) } ?? 0
                if r == 0x7E, word != nil {
                    word = nil
                    delivered()
                }
            default: buffer[i] = regs[r & 0xFF]
            }
            if increment {
                r = r == 0x7E ? 0x78 : (r + 1) & 0xFF
            }
        }
    }
}
