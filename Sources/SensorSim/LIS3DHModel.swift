import SensorBus
public import TwitchCore

/// LIS3DH register model: WHO_AM_I, CTRL_REG1/3/4/5, STATUS_REG, OUT_X_L..OUT_Z_H (left-justified
/// little-endian, 8/10/12-bit by LPen/HR), FIFO_CTRL/FIFO_SRC with a 32-sample FIFO. I2C bursts
/// auto-increment only when bit 7 of the register address is set; with the FIFO on, a burst
/// wraps from OUT_Z_H to OUT_X_L and pops the next sample.
public final class LIS3DHModel: SimulatedChip {
    override public var chipName: String { "lis3dh" }
    override public var idRegister: UInt8 { 0x0F }

    private var fifo: [(Int32, Int32, Int32)] = []
    private var latest: (Int32, Int32, Int32) = (0, 0, 0)
    private var fresh = false
    private var overwritten = false

    override public func powerOnReset() {
        super.powerOnReset()
        regs[0x0F] = 0x33
        regs[0x20] = 0x07
        fifo.removeAll()
        fresh = false
        overwritten = false
    }

    private static let odr: [Double] = [0, 1, 10, 25, 50, 100, 200, 400, 1600, 1344]
    override public var nominalRateHz: Double {
        let code = Int(regs[0x20] >> 4)
        if code == 9 && regs[0x20] & 0x08 != 0 { return 5376 }
        return code < Self.odr.count ? Self.odr[code] : 0
    }
    override public var registersSayMeasure: Bool { regs[0x20] >> 4 != 0 && nominalRateHz > 0 }
    override public var standbyOnlyRegisters: Set<UInt8> { [0x22, 0x23, 0x24] }

    private var fifoOn: Bool { regs[0x24] & 0x40 != 0 }
    private var fifoMode: UInt8 { fifoOn ? regs[0x2E] >> 6 : 0 }
    private var threshold: Int { Int(regs[0x2E] & 0x1F) }
    private var bits: Int { regs[0x23] & 0x08 != 0 ? 12 : (regs[0x20] & 0x08 != 0 ? 8 : 10) }
    private var gPerLSB: Double {
        let fs = Int(regs[0x23] >> 4 & 3)
        let hr = [0.001, 0.002, 0.004, 0.012][fs]
        switch bits {
        case 12: return hr
        case 10: return hr * 4
        default: return hr * 16
        }
    }
    override public var waitingSamples: Int { fifoMode == 0 ? (fresh ? 1 : 0) : fifo.count }

    private var fifoSrc: UInt8 {
        var s = UInt8(min(fifo.count, 31))
        if fifo.count >= threshold && fifoMode != 0 { s |= 0x80 }
        if fifo.count >= 32 { s |= 0x40 }
        if fifo.isEmpty { s |= 0x20 }
        return s
    }

    override public var interruptLevel: Bool {
        let c3 = regs[0x22]
        if c3 & 0x04 != 0 && fifoSrc & 0x80 != 0 { return true }
        if c3 & 0x02 != 0 && fifoSrc & 0x40 != 0 { return true }
        if c3 & 0x10 != 0 && fresh { return true }
        return false
    }

    override public func produce(_ g: Vector3) {
        let s = Self.counts(g, gPerLSB: gPerLSB, bits: bits)
        if fifoMode == 0 {
            if fresh { overwritten = true }
            latest = s
            fresh = true
            return
        }
        if fifo.count >= 32 {
            if fifoMode == 1 { return }
            fifo.removeFirst()
        }
        fifo.append(s)
    }

    override public func write(_ register: UInt8, _ value: UInt8) {
        let r = register & 0x7F
        regs[Int(r)] = value
        if r == 0x2E || r == 0x24 {
            stuckFIFO = false
            if fifoMode == 0 { fifo.removeAll() }
        }
        if r == 0x23 {
            selfTestOffset = (value >> 1) & 3 == 1 ? Vector3(x: 0.35, y: 0.35, z: 0.35) : .zero
        }
    }

    private func byte(_ s: (Int32, Int32, Int32), _ k: Int) -> UInt8 {
        let word = k < 2 ? s.0 : (k < 4 ? s.1 : s.2)
        let u = UInt16(bitPattern: Int16(truncatingIfNeeded: word << Int32(16 - bits)))
        return k % 2 == 0 ? UInt8(u & 0xFF) : UInt8(u >> 8)
    }

    override public func readBurst(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) {
        let increment = register & 0x80 != 0
        var r = Int(register & 0x7F)
        for i in 0..<buffer.count {
            switch r {
            case 0x27:
                buffer[i] = (fresh ? 0x08 : 0) | (overwritten ? 0x80 : 0)
            case 0x28...0x2D:
                let head = fifoMode == 0 ? latest : (fifo.first ?? latest)
                buffer[i] = byte(head, r - 0x28)
                if r == 0x2D {
                    if fifoMode == 0 {
                        if fresh { delivered() }
                        fresh = false
                        overwritten = false
                    } else if !fifo.isEmpty {
                        latest = fifo.removeFirst()
                        delivered()
                    }
                }
            case 0x2F: buffer[i] = fifoSrc
            default: buffer[i] = regs[r & 0xFF]
            }
            if increment {
                r += 1
                if r == 0x2E && fifoMode != 0 { r = 0x28 }
                r &= 0x7F
            }
        }
    }
}
