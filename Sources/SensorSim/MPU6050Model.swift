import SensorBus
public import TwitchCore

/// MPU-6050 register model (accelerometer path): WHO_AM_I, PWR_MGMT_1 (sleep), SMPLRT_DIV, CONFIG
/// (DLPF), ACCEL_CONFIG (range, self-test), big-endian data registers, INT_ENABLE/INT_STATUS
/// (clear on read), USER_CTRL, and a 1024-byte FIFO read through FIFO_R_W (no auto-increment)
/// that, on overflow, drops its oldest bytes and so loses frame alignment.
public final class MPU6050Model: SimulatedChip {
    override public var chipName: String { "mpu6050" }
    override public var idRegister: UInt8 { 0x75 }

    private var fifo: [UInt8] = []
    private var fifoHead = 0  // bytes of fifo already popped
    /// Bytes of the current head frame already dropped or popped (alignment tracking).
    private var headFrameOffset = 0
    private var headFrameIntact = true
    private var latest: (Int32, Int32, Int32) = (0, 0, 0)
    private var fresh = false
    private var intStatus: UInt8 = 0

    override public func powerOnReset() {
        super.powerOnReset()
        regs[0x75] = 0x68
        regs[0x6B] = 0x40
        clearFIFO()
        fresh = false
        intStatus = 0
    }

    private func clearFIFO() {
        fifo.removeAll(keepingCapacity: true)
        fifoHead = 0
        headFrameOffset = 0
        headFrameIntact = true
    }

    private var fifoCount: Int { fifo.count - fifoHead }

    override public var nominalRateHz: Double {
        let dlpf = regs[0x1A] & 7
        let base: Double = dlpf == 0 || dlpf == 7 ? 8000 : 1000
        return min(base / (1 + Double(regs[0x19])), 1000)
    }
    override public var registersSayMeasure: Bool { regs[0x6B] & 0x40 == 0 }
    override public var standbyOnlyRegisters: Set<UInt8> { [0x19, 0x1A, 0x1C, 0x23, 0x38] }

    private var fifoEnabled: Bool { regs[0x6A] & 0x40 != 0 && regs[0x23] & 0x08 != 0 }
    private var gPerLSB: Double { 1.0 / Double(16384 >> Int(regs[0x1C] >> 3 & 3)) }
    override public var waitingSamples: Int { fifoEnabled ? fifoCount / 6 : (fresh ? 1 : 0) }
    /// When the last sample was produced: with LATCH_INT_EN clear (what the driver sets) the INT
    /// pin gives a 50 us pulse per event rather than holding a level.
    private var lastEventNs: UInt64 = .max
    private var lastEventBits: UInt8 = 0
    override public var interruptIsPulse: Bool { regs[0x37] & 0x20 == 0 }
    override public var interruptLevel: Bool {
        if regs[0x37] & 0x20 != 0 { return intStatus & regs[0x38] != 0 }  // latched
        return lastEventNs == time.monotonicNanoseconds() && lastEventBits & regs[0x38] != 0
    }

    override public func produce(_ g: Vector3) {
        let s = Self.counts(g, gPerLSB: gPerLSB, bits: 16)
        latest = s
        fresh = true
        intStatus |= 0x01
        let before = intStatus
        defer {
            lastEventNs = producingAtNs
            lastEventBits = 0x01 | (intStatus & ~before & 0x10)
        }
        guard fifoEnabled else { return }
        for w in [s.0, s.1, s.2] {
            let u = UInt16(bitPattern: Int16(truncatingIfNeeded: w))
            pushByte(UInt8(u >> 8))
            pushByte(UInt8(u & 0xFF))
        }
    }

    private func pushByte(_ b: UInt8) {
        if fifoCount >= 1024 {
            _ = popByte(counting: false)
            intStatus |= 0x10
        }
        fifo.append(b)
    }

    private func popByte(counting: Bool) -> UInt8 {
        guard fifoCount > 0 else { return 0 }
        let b = fifo[fifoHead]
        fifoHead += 1
        if !counting { headFrameIntact = false }
        headFrameOffset += 1
        if headFrameOffset == 6 {
            if headFrameIntact && counting { delivered() }
            headFrameOffset = 0
            headFrameIntact = true
        }
        if fifoHead > 4096 {
            fifo.removeFirst(fifoHead)
            fifoHead = 0
        }
        return b
    }

    override public func write(_ register: UInt8, _ value: UInt8) {
        regs[Int(register)] = value
        if register == 0x6A {
            if value & 0x04 != 0 {
                clearFIFO()
                stuckFIFO = false
            }
            regs[0x6A] = value & ~0x04  // FIFO_RESET self-clears
        }
        if register == 0x6B && value & 0x80 != 0 { powerOnReset() }
        if register == 0x1C {
            selfTestOffset = value & 0xE0 != 0 ? Vector3(x: 0.5, y: 0.5, z: 0.5) : .zero
        }
    }

    override public func readBurst(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) {
        var r = Int(register)
        for i in 0..<buffer.count {
            switch r {
            case 0x3A:
                buffer[i] = intStatus
                intStatus = 0
            case 0x3B...0x40:
                let k = r - 0x3B
                let w = k < 2 ? latest.0 : (k < 4 ? latest.1 : latest.2)
                let u = UInt16(bitPattern: Int16(truncatingIfNeeded: w))
                buffer[i] = k % 2 == 0 ? UInt8(u >> 8) : UInt8(u & 0xFF)
                if r == 0x40 && !fifoEnabled {
                    if fresh { delivered() }
                    fresh = false
                }
            case 0x72: buffer[i] = UInt8(fifoCount >> 8)
            case 0x73: buffer[i] = UInt8(fifoCount & 0xFF)
            case 0x74: buffer[i] = popByte(counting: true)
            default: buffer[i] = regs[r & 0xFF]
            }
            if r != 0x74 { r = (r + 1) & 0xFF }
        }
    }
}
