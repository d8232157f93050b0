import SensorBus

extension ChipKind {
    /// LIS3DH.
    public static let lis3dh = ChipKind(driver: LIS3DH(), name: "lis3dh", displayName: "LIS3DH")
}

/// ST LIS3DH: 12-bit high-resolution mode, ±2-16 g, 32-sample FIFO, little-endian left-justified.
///
/// Multi-byte I2C access needs bit 7 of the register address set (auto-increment). With the FIFO
/// enabled, a burst from OUT_X_L wraps back to OUT_X_L after OUT_Z_H and pops the next sample, so
/// several frames move in one transaction.
struct LIS3DH: ChipDriver {
    enum Reg {
        static let whoAmI: UInt8 = 0x0F
        static let ctrl1: UInt8 = 0x20
        static let ctrl3: UInt8 = 0x22
        static let ctrl4: UInt8 = 0x23
        static let ctrl5: UInt8 = 0x24
        static let status: UInt8 = 0x27
        static let outXL: UInt8 = 0x28
        static let fifoCtrl: UInt8 = 0x2E
        static let fifoSrc: UInt8 = 0x2F
    }
    static let autoIncrement: UInt8 = 0x80

    static let table = ChipTable(
        addresses: [0x18, 0x19], idRegister: Reg.whoAmI, idValue: 0x33,
        rates: [
            RateEntry(hz: 1, code: 1), RateEntry(hz: 10, code: 2), RateEntry(hz: 25, code: 3),
            RateEntry(hz: 50, code: 4), RateEntry(hz: 100, code: 5), RateEntry(hz: 200, code: 6),
            RateEntry(hz: 400, code: 7), RateEntry(hz: 1344, code: 9),
        ],
        // High-resolution (12-bit) sensitivities: 1, 2, 4, 12 mg/digit.
        ranges: [
            RangeEntry(g: 2, code: 0, gPerLSB: 0.001), RangeEntry(g: 4, code: 1, gPerLSB: 0.002),
            RangeEntry(g: 8, code: 2, gPerLSB: 0.004), RangeEntry(g: 16, code: 3, gPerLSB: 0.012),
        ],
        defaultRate: 400, frameBytes: 6, fifoFrames: 32, watermarkInterrupt: true, framesPerBurst: true)

    var kind: ChipKind { .lis3dh }
    var table: ChipTable { Self.table }

    func standby(_ bus: any SensorBus) throws(BusError) {
        try bus.writeRegister(Reg.ctrl1, value: 0x07)  // ODR 0000: power-down, axes stay enabled
    }

    func ctrl4(_ c: ChipConfiguration, selfTest: Bool = false) -> UInt8 {
        // BDU | FS | HR | ST0 (positive self-test)
        0x80 | (c.rangeCode << 4) | 0x08 | (selfTest ? 0x02 : 0)
    }

    func configure(_ bus: any SensorBus, _ c: ChipConfiguration) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        try writeVerified(bus, Reg.ctrl4, ctrl4(c))
        if c.useFIFO {
            try writeVerified(bus, Reg.ctrl5, 0x40)  // FIFO_EN
            try writeVerified(bus, Reg.fifoCtrl, 0x00)  // bypass empties it
            try writeVerified(bus, Reg.fifoCtrl, 0x80 | UInt8(c.watermark & 0x1F))  // stream + FTH
            try writeVerified(bus, Reg.ctrl3, 0x04 | 0x02)  // I1_WTM | I1_OVERRUN
        } else {
            try writeVerified(bus, Reg.ctrl5, 0x00)
            try writeVerified(bus, Reg.fifoCtrl, 0x00)
            try writeVerified(bus, Reg.ctrl3, 0x10)  // I1_ZYXDA
        }
        try writeVerified(bus, Reg.ctrl1, c.rateCode << 4 | 0x07)
    }

    func status(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) -> ChipStatus {
        if c.useFIFO {
            let src = try bus.readRegister(Reg.fifoSrc)
            let overrun = src & 0x40 != 0  // OVRN_FIFO: 32 unread samples, the next replaces the oldest
            let empty = src & 0x20 != 0
            let level = empty ? 0 : Int(src & 0x1F)
            return ChipStatus(frames: overrun ? 32 : level, overrun: overrun)
        }
        let st = try bus.readRegister(Reg.status)
        return ChipStatus(frames: st & 0x08 != 0 ? 1 : 0, overrun: st & 0x80 != 0)
    }

    func readFrames(
        _ bus: any SensorBus, _ c: ChipConfiguration, count: Int, into raw: UnsafeMutableRawBufferPointer,
        done: inout Int
    ) throws(BusError) {
        try burstFrames(bus, register: Reg.outXL | Self.autoIncrement, count: count, into: raw, done: &done)
    }

    func decode(_ raw: UnsafeMutableRawBufferPointer, at i: Int, _ c: ChipConfiguration) -> (
        Int32, Int32, Int32
    ) {
        // 12-bit left-justified: arithmetic shift keeps the sign.
        (le16(raw, i) >> 4, le16(raw, i + 2) >> 4, le16(raw, i + 4) >> 4)
    }

    func flushFIFO(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) {
        try bus.writeRegister(Reg.fifoCtrl, value: 0x00)
        try bus.writeRegister(Reg.fifoCtrl, value: 0x80 | UInt8(c.watermark & 0x1F))
    }

    func setSelfTest(_ bus: any SensorBus, _ c: ChipConfiguration, on: Bool) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        try writeVerified(bus, Reg.ctrl4, ctrl4(c, selfTest: on))
        try writeVerified(bus, Reg.ctrl1, c.rateCode << 4 | 0x07)
    }

    // Datasheet: self-test output change 17..360 LSB in 10-bit normal mode at ±2 g (4 mg/digit).
    var selfTestLimits: SelfTestLimits? {
        SelfTestLimits(x: 0.068...1.44, y: 0.068...1.44, z: 0.068...1.44)
    }
}
