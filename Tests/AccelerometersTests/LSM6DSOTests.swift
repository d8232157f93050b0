import Accelerometers
import SensorBus
import SensorSim
import Sensors
import Testing
import TwitchCore

/// The fifth chip: the LSM6DSO's tagged FIFO as the model implements it and the driver reads it.
@Suite("LSM6DSO tagged FIFO")
struct LSM6DSOTests {
    @Test("a burst from FIFO_DATA_OUT_TAG wraps at 0x7E: whole accelerometer words, in order")
    func taggedWordsWrap() throws {
        let values = (0..<64).map { i in Vector3(x: Double(i) * 0.001, y: -0.5, z: 1) }
        let rig = try Rig(.lsm6dso, source: ArraySource(values), oscillatorError: 0)
        try rig.engine.start()
        rig.clock.advance(by: 60_000_000)  // about 25 samples at 416 Hz
        rig.chip.catchUp()
        var raw = [UInt8](repeating: 0, count: 28)  // four words of tag + x, y, z
        try raw.withUnsafeMutableBytes { try rig.chip.readRegisters(0x78, into: $0) }
        for w in 0..<4 {
            #expect(raw[w * 7] >> 3 == 0x02, "word \(w): tag \(raw[w * 7])")  // TAG_SENSOR: accelerometer
            let x = Int16(bitPattern: UInt16(raw[w * 7 + 1]) | UInt16(raw[w * 7 + 2]) << 8)
            let expected = Int16((Double(w) * 0.001 / 0.000061).rounded())
            #expect(x == expected, "word \(w)")
        }
        // TAG_CNT counts the words.
        #expect(Set((0..<4).map { raw[$0 * 7] >> 1 & 3 }).count == 4)
    }

    @Test("an overrun of the 512-word FIFO is flushed and its loss counted exactly")
    func overrunKeepsNewest() throws {
        let rig = try Rig(.lsm6dso)
        try rig.engine.start()
        try rig.run(seconds: 1)
        rig.chip.stall(nanoseconds: 2_000_000_000)
        try rig.run(seconds: 1)
        #expect(rig.overruns == 1)
        #expect(rig.lost == rig.chip.samples.lost)
        #expect(rig.accountingBalances)
        #expect(rig.lost > Int(1.9 * 416))
    }

    @Test("the registry row: WHO_AM_I 0x6C at 0x0F, addresses 0x6A/0x6B, up to 6.66 kHz, self-test judged")
    func row() throws {
        let row = try #require(ChipRegistry.named("lsm6dso"))
        #expect(ChipRegistry.named("LSM6DSOX")?.name == "lsm6dso")
        #expect(row.kind.identification.register == 0x0F)
        #expect(row.kind.identification.value == 0x6C)
        #expect(row.kind.addresses == [0x6A, 0x6B])
        #expect(row.kind.supportedRates.max() == 6664)
        #expect(row.kind.fifoCapacity == 512)
        #expect(row.kind.selfTestLimits != nil)
        #expect(ObjectIdentifier(row.model) == ObjectIdentifier(LSM6DSOModel.self))
    }
}
