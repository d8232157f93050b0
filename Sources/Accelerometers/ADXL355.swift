import SensorBus

extension ChipKind {
    /// ADXL355.
    public static let adxl355 = ChipKind(driver: ADXL355(), name: "adxl355", displayName: "ADXL355")
}

/// Analog Devices ADXL355: low-noise 20-bit, ±2/4/8 g, 96-word FIFO (32 x,y,z samples).
///
/// Data are 20-bit two's complement, big-endian and left-justified in three bytes
/// (bits 19..12, 11..4, 3..0 in the top nibble). FIFO_DATA does not auto-increment; each 3-byte
/// word carries an x-axis marker (bit 0 of its last byte) and an empty flag (bit 1).
struct ADXL355: ChipDriver {
    enum Reg {
        static let devidAD: UInt8 = 0x00
        static let status: UInt8 = 0x04
        static let fifoEntries: UInt8 = 0x05
        static let xdata3: UInt8 = 0x08
        static let fifoData: UInt8 = 0x11
        static let filter: UInt8 = 0x28
        static let fifoSamples: UInt8 = 0x29
        static let intMap: UInt8 = 0x2A
        static let range: UInt8 = 0x2C
        static let powerCtl: UInt8 = 0x2D
        static let selfTest: UInt8 = 0x2E
    }

    static let table = ChipTable(
        addresses: [0x1D, 0x53], idRegister: Reg.devidAD, idValue: 0xAD,
        // ODR_LPF code n selects 4000 / 2^n Hz.
        rates: ADXL355.rateTable(),
        ranges: [
            RangeEntry(g: 2, code: 1, gPerLSB: 1.0 / 256_000),
            RangeEntry(g: 4, code: 2, gPerLSB: 1.0 / 128_000),
            RangeEntry(g: 8, code: 3, gPerLSB: 1.0 / 64_000),
        ],
        defaultRate: 500, frameBytes: 9, fifoFrames: 32, watermarkInterrupt: true, framesPerBurst: true,
        flushRestartsSampling: true)

    /// All three identification registers: DEVID_AD, DEVID_MST, PARTID.
    static let fullID: [UInt8] = [0xAD, 0x1D, 0xED]

    static func rateTable() -> [RateEntry] {
        var out: [RateEntry] = []
        for code in 0...10 {
            let hz: Double = 4000 / Double(1 << code)
            out.append(RateEntry(hz: hz, code: UInt8(code)))
        }
        return out
    }

    var kind: ChipKind { .adxl355 }
    var table: ChipTable { Self.table }

    func standby(_ bus: any SensorBus) throws(BusError) {
        try bus.writeRegister(Reg.powerCtl, value: 0x01)
    }

    func configure(_ bus: any SensorBus, _ c: ChipConfiguration) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        // I2C_HS kept, INT_POL active high, range.
        try writeVerified(bus, Reg.range, 0x80 | 0x40 | c.rangeCode)
        try writeVerified(bus, Reg.filter, c.rateCode)  // no high-pass
        if c.useFIFO {
            try writeVerified(bus, Reg.fifoSamples, UInt8(c.watermark * 3))
            try writeVerified(bus, Reg.intMap, 0x02 | 0x04)  // FULL_EN1 (watermark) | OVR_EN1
        } else {
            try writeVerified(bus, Reg.intMap, 0x01)  // RDY_EN1
        }
        try writeVerified(bus, Reg.powerCtl, 0x02)  // measure, temperature off
    }

    func status(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) -> ChipStatus {
        let st = try bus.readRegister(Reg.status)  // clears DATA_RDY and FIFO_OVR
        let overrun = st & 0x04 != 0
        if c.useFIFO {
            let words = try bus.readRegister(Reg.fifoEntries) & 0x7F
            return ChipStatus(frames: Int(words) / 3, overrun: overrun)
        }
        return ChipStatus(frames: st & 0x01 != 0 ? 1 : 0, overrun: overrun)
    }

    func readFrames(
        _ bus: any SensorBus, _ c: ChipConfiguration, count: Int, into raw: UnsafeMutableRawBufferPointer,
        done: inout Int
    ) throws(BusError) {
        try burstFrames(
            bus, register: c.useFIFO ? Reg.fifoData : Reg.xdata3, count: count, into: raw, done: &done)
    }

    /// Whether the frame at `i` starts with an x-axis word (FIFO alignment check).
    func frameAligned(_ raw: UnsafeMutableRawBufferPointer, at i: Int) -> Bool {
        raw[i + 2] & 0x01 != 0 && raw[i + 2] & 0x02 == 0
    }

    func decode(_ raw: UnsafeMutableRawBufferPointer, at i: Int, _ c: ChipConfiguration) -> (
        Int32, Int32, Int32
    ) {
        (be20(raw, i), be20(raw, i + 3), be20(raw, i + 6))
    }

    @inline(__always)
    func be20(_ raw: UnsafeMutableRawBufferPointer, _ i: Int) -> Int32 {
        // Place the 20 bits at the top of an Int32, then shift back down arithmetically.
        let b0: UInt32 = UInt32(raw[i]) << 24
        let b1: UInt32 = UInt32(raw[i + 1]) << 16
        let b2: UInt32 = UInt32(raw[i + 2] & 0xF0) << 8
        return Int32(bitPattern: b0 | b1 | b2) >> 12
    }

    func confirmIdentity(_ bus: any SensorBus) throws(AccelerometerError) {
        // DEVID_AD matched: check DEVID_MST and PARTID as well.
        var ids: (UInt8, UInt8) = (0, 0)
        do {
            try withUnsafeMutableBytes(of: &ids) { (b) throws(BusError) in
                try bus.readRegisters(0x01, into: b)
            }
        } catch { throw .bus(error) }
        guard ids.0 == Self.fullID[1], ids.1 == Self.fullID[2] else {
            throw .wrongID(
                chip: kind, device: bus.name, register: 0x01, expected: Self.fullID[1], found: ids.0)
        }
    }

    func flushFIFO(_ bus: any SensorBus, _ c: ChipConfiguration) throws(BusError) {
        // The FIFO is emptied by a standby/measure cycle (the way Analog Devices' own Zephyr
        // driver flushes it); sampling restarts, so the engine re-learns the timing phase.
        try standby(bus)
        try bus.writeRegister(Reg.powerCtl, value: 0x02)
    }

    func setSelfTest(_ bus: any SensorBus, _ c: ChipConfiguration, on: Bool) throws(AccelerometerError) {
        try wrapBus { () throws(BusError) in try standby(bus) }
        try writeVerified(bus, Reg.selfTest, on ? 0x03 : 0x00)  // ST1 | ST2
        try writeVerified(bus, Reg.powerCtl, 0x02)
    }

    // Datasheet self-test deltas (typ. 0.3, 0.3, 1.5 g); window set generously around them.
    var selfTestLimits: SelfTestLimits? {
        SelfTestLimits(x: 0.1...0.6, y: 0.1...0.6, z: 0.5...3.0)
    }
}
