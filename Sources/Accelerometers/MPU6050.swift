import SensorBus

extension ChipKind {
    /// MPU-6050.
    public static let mpu6050 = ChipKind(driver: MPU6050(), name: "mpu6050", displayName: "MPU-6050")
}

/// InvenSense MPU-6050 (accelerometer part): 16-bit big-endian, ±2-16 g, 1024-byte FIFO.
///
/// The sample rate is the 1 kHz internal rate (DLPF on) divided by 1 + SMPLRT_DIV. The FIFO has
/// no watermark interrupt, so in FIFO mode the engine polls at the FIFO's pace. FIFO_R_W does not
/// auto-increment: a burst pops consecutive FIFO bytes. After an overflow the 1024-byte FIFO no
/// longer holds whole 6-byte frames, so it must be reset.
struct MPU6050: ChipDriver {
    enum Reg {
        static let smplrtDiv: UInt8 = 0x19
        static let config: UInt8 = 0x1A
        static let accelConfig: UInt8 = 0x1C
        static let fifoEn: UInt8 = 0x23
        static let intPinCfg: UInt8 = 0x37
        static let intEnable: UInt8 = 0x38
        static let intStatus: UInt8 = 0x3A
        static let accelXoutH: UInt8 = 0x3B
        static let userCtrl: UInt8 = 0x6A
        static let pwrMgmt1: UInt8 = 0x6B
        static let fifoCountH: UInt8 = 0x72
        static let fifoRW: UInt8 = 0x74
        static let whoAmI: UInt8 = 0x75
    }

    static let table = ChipTable(
        addresses: [0x68, 0x69], idRegister: Reg.whoAmI, idValue: 0x68,
        // code = SMPLRT_DIV; rate = 1000 / (1 + div)
        rates: [
            RateEntry(hz: 1000, code: 0), RateEntry(hz: 500, code: 1), RateEntry(hz: 250, code: 3),
            RateEntry(hz: 200, code: 4), RateEntry(hz: 125, code: 7), RateEntry(hz: 100, code: 9),
            RateEntry(hz: 50, code: 19),
        ],
        ranges: [
            RangeEntry(g: 2, code: 0, gPerLSB: 1.0 / 16384), RangeEntry(g: 4, code: 1, gPerLSB: 1.0 / 8192),
            RangeEntry(g: 8, code: 2, gPerLSB: 1.0 / 4096), RangeEntry(g: 16, code: 3, gPerLSB: 1.0 / 2048),
        ],
        defaultRate: 500, frameBytes: 6, fifoFrames: 170, watermarkInterrupt: false, framesPerBurst: true)

    var kind: ChipKind { .mpu6050 }
    var table: ChipTable { Self.table }

    func standby(_ bus: any SensorBus) throws(BusError) {
        try bus.writeRegister(Reg.pwrMgmt1, value: 0x41)  // SLEEP, PLL with X gyro
    }

    func configure(_ bus: any SensorBus, _ c: ChipConfiguration) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        try writeVerified(bus, Reg.config, 0x01)  // DLPF 184 Hz: 1 kHz internal rate
        try writeVerified(bus, Reg.smplrtDiv, c.rateCode)
        try writeVerified(bus, Reg.accelConfig, c.rangeCode << 3)
        // INT active high, push-pull, 50 us pulse per event, status cleared by reading it.
        try writeVerified(bus, Reg.intPinCfg, 0x00)
        if c.useFIFO {
            try writeVerified(bus, Reg.fifoEn, 0x08)  // ACCEL_FIFO_EN
            // FIFO_OFLOW_EN | DATA_RDY_EN: the data-ready pulse gives the engine exact sample
            // times even though the FIFO has no watermark interrupt.
            try writeVerified(bus, Reg.intEnable, 0x11)
            // FIFO_EN | FIFO_RESET (self-clearing, so not read back)
            try wrapBus { () throws(BusError) in try bus.writeRegister(Reg.userCtrl, value: 0x44) }
        } else {
            try writeVerified(bus, Reg.fifoEn, 0x00)
            try writeVerified(bus, Reg.intEnable, 0x01)  // DATA_RDY_EN
            try wrapBus { () throws(BusError) in try bus.writeRegister(Reg.userCtrl, value: 0x04) }
        }
        try writeVerified(bus, Reg.pwrMgmt1, 0x01)
    }

    func status(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) -> ChipStatus {
        let st = try bus.readRegister(Reg.intStatus)  // clears on read
        let overflow = st & 0x10 != 0
        if c.useFIFO {
            var count: (UInt8, UInt8) = (0, 0)
            try withUnsafeMutableBytes(of: &count) { (b) throws(BusError) in
                try bus.readRegisters(Reg.fifoCountH, into: b)
            }
            let bytes = Int(count.0) << 8 | Int(count.1)
            return ChipStatus(frames: bytes / 6, overrun: overflow)
        }
        return ChipStatus(frames: st & 0x01 != 0 ? 1 : 0, overrun: overflow)
    }

    func readFrames(
        _ bus: any SensorBus, _ c: ChipConfiguration, count: Int, into raw: UnsafeMutableRawBufferPointer,
        done: inout Int
    ) throws(BusError) {
        try burstFrames(
            bus, register: c.useFIFO ? Reg.fifoRW : Reg.accelXoutH, count: count, into: raw, done: &done)
    }

    func decode(_ raw: UnsafeMutableRawBufferPointer, at i: Int, _ c: ChipConfiguration) -> (
        Int32, Int32, Int32
    ) {
        (be16(raw, i), be16(raw, i + 2), be16(raw, i + 4))
    }

    func flushFIFO(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) {
        try bus.writeRegister(Reg.userCtrl, value: 0x44)
        // A sample that arrived between the status read and the reset re-latched the overflow
        // flag for data that is gone already: clear it.
        _ = try bus.readRegister(Reg.intStatus)
    }

    func setSelfTest(_ bus: any SensorBus, _ c: ChipConfiguration, on: Bool) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        try writeVerified(bus, Reg.accelConfig, c.rangeCode << 3 | (on ? 0xE0 : 0))
        try writeVerified(bus, Reg.pwrMgmt1, 0x01)
    }

    /// Judging the MPU-6050 self-test needs the factory trim registers; not done.
    var selfTestLimits: SelfTestLimits? { nil }
}
