import SensorBus

extension ChipKind {
    /// ST LSM6DSO / LSM6DSOX (the same accelerometer, register map and WHO_AM_I).
    public static let lsm6dso = ChipKind(driver: LSM6DSO(), name: "lsm6dso", displayName: "LSM6DSO")
}

/// ST LSM6DSO / LSM6DSOX 6-axis IMU, accelerometer part: 16-bit little-endian, ±2-16 g, ODR
/// 12.5 Hz-6.66 kHz, a 512-word tagged FIFO.
///
/// Every FIFO word is a tag byte (FIFO_DATA_OUT_TAG: sensor in bits 7..3) and six data bytes;
/// reading the word's last byte pops it, and with IF_INC a burst from FIFO_DATA_OUT_TAG wraps
/// from 0x7E back to 0x78, so several words move in one transaction. Only the accelerometer is
/// batched (its batch rate equals its output rate), so every word is one sample. In bypass mode
/// the engine reads the same seven-byte shape from 0x27 (the gyroscope's last byte, ignored, then
/// OUTX_L_A..OUTZ_H_A), so one decoder serves both. The gyroscope stays powered down.
///
/// A continuous-mode FIFO overwrites its oldest words when full. The newest 512 are still there
/// after an overrun, but reading them takes over a hundred bursts while the full FIFO keeps
/// overwriting the ones not yet read, so the count of lost samples could not be exact: an overrun
/// is flushed (bypass, then continuous again) and everything since the last delivered sample
/// counted, like the LIS3DH and ADXL355.
struct LSM6DSO: ChipDriver {
    enum Reg {
        static let fifoCtrl1: UInt8 = 0x07  // WTM[7:0]
        static let fifoCtrl2: UInt8 = 0x08  // WTM[8] in bit 0
        static let fifoCtrl3: UInt8 = 0x09  // BDR_GY[7:4], BDR_XL[3:0]
        static let fifoCtrl4: UInt8 = 0x0A  // FIFO_MODE[2:0]
        static let int1Ctrl: UInt8 = 0x0D
        static let whoAmI: UInt8 = 0x0F
        static let ctrl1XL: UInt8 = 0x10  // ODR_XL[7:4], FS_XL[3:2]
        static let ctrl2G: UInt8 = 0x11
        static let ctrl3C: UInt8 = 0x12  // BDU bit 6, IF_INC bit 2
        static let ctrl5C: UInt8 = 0x14  // ST_XL[1:0]
        static let status: UInt8 = 0x1E  // XLDA bit 0
        static let outZHG: UInt8 = 0x27  // the byte before OUTX_L_A (0x28)
        static let fifoStatus1: UInt8 = 0x3A  // DIFF_FIFO[7:0]; FIFO_STATUS2 follows
        static let fifoDataOutTag: UInt8 = 0x78
    }
    enum Bit {
        static let bdu: UInt8 = 0x40
        static let ifInc: UInt8 = 0x04
        static let int1DrdyXL: UInt8 = 0x01
        static let int1FifoTh: UInt8 = 0x08
        static let int1FifoOvr: UInt8 = 0x10
        static let continuous: UInt8 = 0x06
        static let wtmIA: UInt8 = 0x80
        static let ovrIA: UInt8 = 0x40
        static let ovrLatched: UInt8 = 0x08
        static let selfTestPositive: UInt8 = 0x01
    }

    static let table = ChipTable(
        addresses: [0x6A, 0x6B], idRegister: Reg.whoAmI, idValue: 0x6C,
        // ODR_XL codes 1...10 (12.5 Hz doubling to 6.66 kHz); the FIFO's BDR_XL uses the same codes.
        rates: [
            RateEntry(hz: 12.5, code: 1), RateEntry(hz: 26, code: 2), RateEntry(hz: 52, code: 3),
            RateEntry(hz: 104, code: 4), RateEntry(hz: 208, code: 5), RateEntry(hz: 416, code: 6),
            RateEntry(hz: 833, code: 7), RateEntry(hz: 1666, code: 8), RateEntry(hz: 3332, code: 9),
            RateEntry(hz: 6664, code: 10),
        ],
        // FS_XL: 00 ±2 g, 10 ±4 g, 11 ±8 g, 01 ±16 g; 0.061, 0.122, 0.244, 0.488 mg/LSB.
        ranges: [
            RangeEntry(g: 2, code: 0, gPerLSB: 0.000061), RangeEntry(g: 4, code: 2, gPerLSB: 0.000122),
            RangeEntry(g: 8, code: 3, gPerLSB: 0.000244), RangeEntry(g: 16, code: 1, gPerLSB: 0.000488),
        ],
        defaultRate: 416, frameBytes: 7, fifoFrames: 512, watermarkInterrupt: true, framesPerBurst: true)

    var kind: ChipKind { .lsm6dso }
    var table: ChipTable { Self.table }

    func standby(_ bus: any SensorBus) throws(BusError) {
        try bus.writeRegister(Reg.ctrl1XL, value: 0)  // ODR_XL 0000: power-down
    }

    func ctrl1(_ c: ChipConfiguration) -> UInt8 { c.rateCode << 4 | c.rangeCode << 2 }

    func configure(_ bus: any SensorBus, _ c: ChipConfiguration) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        try writeVerified(bus, Reg.ctrl3C, Bit.bdu | Bit.ifInc)
        try writeVerified(bus, Reg.ctrl2G, 0)  // gyroscope off
        try writeVerified(bus, Reg.ctrl5C, 0)
        try writeVerified(bus, Reg.fifoCtrl4, 0)  // bypass empties the FIFO
        if c.useFIFO {
            try writeVerified(bus, Reg.fifoCtrl1, UInt8(c.watermark & 0xFF))
            try writeVerified(bus, Reg.fifoCtrl2, UInt8(c.watermark >> 8 & 1))
            try writeVerified(bus, Reg.fifoCtrl3, c.rateCode)  // batch the accelerometer at its ODR
            try writeVerified(bus, Reg.fifoCtrl4, Bit.continuous)
            try writeVerified(bus, Reg.int1Ctrl, Bit.int1FifoTh | Bit.int1FifoOvr)
        } else {
            try writeVerified(bus, Reg.fifoCtrl3, 0)
            try writeVerified(bus, Reg.int1Ctrl, Bit.int1DrdyXL)
        }
        try writeVerified(bus, Reg.ctrl1XL, ctrl1(c))
    }

    func status(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) -> ChipStatus {
        if c.useFIFO {
            // FIFO_STATUS1 and 2 in one read; reading STATUS2 clears FIFO_OVR_LATCHED.
            var s: (UInt8, UInt8) = (0, 0)
            try withUnsafeMutableBytes(of: &s) { (b) throws(BusError) in
                try bus.readRegisters(Reg.fifoStatus1, into: b)
            }
            let level = Int(s.0) | Int(s.1 & 0x03) << 8
            return ChipStatus(
                frames: min(level, Self.table.fifoFrames), overrun: s.1 & (Bit.ovrIA | Bit.ovrLatched) != 0)
        }
        let st = try bus.readRegister(Reg.status)
        return ChipStatus(frames: st & 0x01 != 0 ? 1 : 0, overrun: false)
    }

    func readFrames(
        _ bus: any SensorBus, _ c: ChipConfiguration, count: Int, into raw: UnsafeMutableRawBufferPointer,
        done: inout Int
    ) throws(BusError) {
        try burstFrames(
            bus, register: c.useFIFO ? Reg.fifoDataOutTag : Reg.outZHG, count: count, into: raw, done: &done)
    }

    func decode(_ raw: UnsafeMutableRawBufferPointer, at i: Int, _ c: ChipConfiguration) -> (
        Int32, Int32, Int32
    ) {
        (le16(raw, i + 1), le16(raw, i + 3), le16(raw, i + 5))
    }

    func flushFIFO(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) {
        try bus.writeRegister(Reg.fifoCtrl4, value: 0)
        try bus.writeRegister(Reg.fifoCtrl4, value: Bit.continuous)
    }

    func setSelfTest(_ bus: any SensorBus, _ c: ChipConfiguration, on: Bool) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        try writeVerified(bus, Reg.ctrl5C, on ? Bit.selfTestPositive : 0)
        try writeVerified(bus, Reg.ctrl1XL, ctrl1(c))
    }

    // Datasheet: positive self-test output change 50...1700 mg on each axis.
    var selfTestLimits: SelfTestLimits? {
        SelfTestLimits(x: 0.05...1.7, y: 0.05...1.7, z: 0.05...1.7)
    }
}
