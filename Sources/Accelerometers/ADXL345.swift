import SensorBus

extension ChipKind {
    /// ADXL345.
    public static let adxl345 = ChipKind(driver: ADXL345(), name: "adxl345", displayName: "ADXL345")
}

/// Analog Devices ADXL345: 13-bit, ±2-16 g, 32-sample FIFO, little-endian right-justified data.
///
/// Full-resolution mode keeps 3.9 mg/LSB at every range. The FIFO is read through the six data
/// registers (a burst past them runs into FIFO_CTL), so each FIFO frame is one 6-byte read; the
/// FIFO still saves the per-sample status read and the per-sample wake-up.
struct ADXL345: ChipDriver {
    enum Reg {
        static let devid: UInt8 = 0x00
        static let bwRate: UInt8 = 0x2C
        static let powerCtl: UInt8 = 0x2D
        static let intEnable: UInt8 = 0x2E
        static let intMap: UInt8 = 0x2F
        static let intSource: UInt8 = 0x30
        static let dataFormat: UInt8 = 0x31
        static let dataX0: UInt8 = 0x32
        static let fifoCtl: UInt8 = 0x38
        static let fifoStatus: UInt8 = 0x39
    }
    enum Bit {
        static let measure: UInt8 = 0x08
        static let dataReady: UInt8 = 0x80
        static let watermark: UInt8 = 0x02
        static let overrun: UInt8 = 0x01
        static let fullRes: UInt8 = 0x08
        static let selfTest: UInt8 = 0x80
        static let fifoStream: UInt8 = 0x80
    }

    static let table = ChipTable(
        addresses: [0x53, 0x1D], idRegister: Reg.devid, idValue: 0xE5,
        // Rate code n selects 3200 / 2^(15-n) Hz.
        rates: ADXL345.rateTable(),
        // Full resolution: 3.9 mg/LSB whatever the range.
        ranges: [
            RangeEntry(g: 2, code: 0, gPerLSB: 0.0039), RangeEntry(g: 4, code: 1, gPerLSB: 0.0039),
            RangeEntry(g: 8, code: 2, gPerLSB: 0.0039), RangeEntry(g: 16, code: 3, gPerLSB: 0.0039),
        ],
        defaultRate: 400, frameBytes: 6, fifoFrames: 32, watermarkInterrupt: true, framesPerBurst: false,
        overrunKeepsNewest: true)

    static func rateTable() -> [RateEntry] {
        var out: [RateEntry] = []
        for code in 6...15 {
            let hz: Double = 3200 / Double(1 << (15 - code))
            out.append(RateEntry(hz: hz, code: UInt8(code)))
        }
        return out
    }

    var kind: ChipKind { .adxl345 }
    var table: ChipTable { Self.table }

    func standby(_ bus: any SensorBus) throws(BusError) {
        try bus.writeRegister(Reg.powerCtl, value: 0)
    }

    func configure(_ bus: any SensorBus, _ c: ChipConfiguration) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in
            try standby(bus)
            try bus.writeRegister(Reg.intEnable, value: 0)
        }
        try writeVerified(bus, Reg.bwRate, c.rateCode)
        try writeVerified(bus, Reg.dataFormat, Bit.fullRes | c.rangeCode)
        try writeVerified(bus, Reg.intMap, 0)  // every interrupt on INT1
        if c.useFIFO {
            try writeVerified(bus, Reg.fifoCtl, 0)  // bypass first: empties the FIFO
            try writeVerified(bus, Reg.fifoCtl, Bit.fifoStream | UInt8(c.watermark & 0x1F))
            try writeVerified(bus, Reg.intEnable, Bit.watermark | Bit.overrun)
        } else {
            try writeVerified(bus, Reg.fifoCtl, 0)
            try writeVerified(bus, Reg.intEnable, Bit.dataReady | Bit.overrun)
        }
        try writeVerified(bus, Reg.powerCtl, Bit.measure)
    }

    func status(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) -> ChipStatus {
        let source = try bus.readRegister(Reg.intSource)
        if c.useFIFO {
            let entries = try bus.readRegister(Reg.fifoStatus) & 0x3F
            return ChipStatus(frames: min(Int(entries), 32), overrun: source & Bit.overrun != 0)
        }
        // Bypass: DATA_READY says a new sample is in the data registers.
        return ChipStatus(frames: source & Bit.dataReady != 0 ? 1 : 0, overrun: source & Bit.overrun != 0)
    }

    func readFrames(
        _ bus: any SensorBus, _ c: ChipConfiguration, count: Int, into raw: UnsafeMutableRawBufferPointer,
        done: inout Int
    ) throws(BusError) {
        try burstFrames(bus, register: Reg.dataX0, count: count, into: raw, done: &done)
    }

    func decode(_ raw: UnsafeMutableRawBufferPointer, at i: Int, _ c: ChipConfiguration) -> (
        Int32, Int32, Int32
    ) {
        (le16(raw, i), le16(raw, i + 2), le16(raw, i + 4))
    }

    func flushFIFO(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) {
        try bus.writeRegister(Reg.fifoCtl, value: 0)
        try bus.writeRegister(Reg.fifoCtl, value: Bit.fifoStream | UInt8(c.watermark & 0x1F))
    }

    func setSelfTest(_ bus: any SensorBus, _ c: ChipConfiguration, on: Bool) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        try writeVerified(bus, Reg.dataFormat, Bit.fullRes | c.rangeCode | (on ? Bit.selfTest : 0))
        try writeVerified(bus, Reg.powerCtl, Bit.measure)
    }

    // Datasheet self-test output change at 2.5-3.3 V, in 3.9 mg LSBs: X 50..540, Y -540..-50, Z 75..875.
    var selfTestLimits: SelfTestLimits? {
        let y: ClosedRange<Double> = -2.11 ... -0.19
        return SelfTestLimits(x: 0.19...2.11, y: y, z: 0.29...3.42)
    }
}
