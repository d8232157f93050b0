import Daemon
import Foundation
import Journal
import JournalOutput
import Logging
import Sensors
import Synchronization
import Testing

/// `TWITCH_SENSOR` (and the daemon's messages) name a sensor `i2c-1/0x53 adxl345`, or
/// `sim/adxl355` for a simulated bus, as docs/journal-fields.md says.
@Suite("sensor names")
struct SensorNameTests {
    @Test("a configured sensor is named bus/address chip")
    func configured() {
        var s = SensorConfiguration(bus: "/dev/i2c-1", location: "calf")
        s.address = .fixed(0x53)
        s.chip = ChipName("adxl345")
        #expect(s.name == "i2c-1/0x53 adxl345")
        s.address = .fixed(0x1D)
        s.chip = ChipName("adxl355")
        #expect(s.name == "i2c-1/0x1d adxl355")
        #expect(SensorConfiguration(bus: "sim:adxl355", location: "calf").name == "sim/adxl355")
        #expect(BusName.sensorName(bus: "i2c-1/0x53", chip: "adxl345") == "i2c-1/0x53 adxl345")
    }

    @Test("the drivers factory names its source after the chip it opened")
    func sourceName() throws {
        for row in ChipRegistry.all {
            var s = SensorConfiguration(bus: "sim:\(row.name)", location: "calf")
            s.speed = 1000
            s.rate = row.kind.defaultRate
            let source = try SourceFactories.drivers(s)
            #expect(source.name == "sim/\(row.name)")
        }
    }

    @Test(
        "the daemon runs every chip's simulated bus; its journal entries carry TWITCH_SENSOR=sim/CHIP",
        arguments: ChipRegistry.all.map(\.name))
    func journalField(chip: String) throws {
        let row = try #require(ChipRegistry.named(chip))
        var sensor = SensorConfiguration(bus: "sim:\(chip)", location: "left-calf")
        sensor.rate = row.kind.defaultRate
        sensor.speed = 200
        sensor.seed = 3
        var configuration = DaemonConfiguration()
        configuration.sensors = [sensor]
        configuration.journal = false
        configuration.eventSocket = nil
        let state = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sensors-name-\(getpid())-\(chip)")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: state) }
        configuration.stateDirectory = state.path
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var options = DaemonOptions(sourceFactory: SourceFactories.drivers, logger: logger)
        options.exposurePeriod = .seconds(2)
        options.exposureToExtraSinks = true
        let names = Mutex<[String]>([])
        options.extraSinks.append(
            ClosureSink(name: "collect") { event in
                names.withLock { $0.append(event.journalEntry["TWITCH_SENSOR"] ?? "-") }
            })
        let daemon = Daemon(configuration: configuration, options: options)
        try daemon.start()
        var waited = 0
        while names.withLock({ $0.isEmpty }) && waited < 300 {
            usleep(50_000)
            waited += 1
        }
        daemon.stop()
        let seen = names.withLock { $0 }
        #expect(!seen.isEmpty)
        #expect(Set(seen) == ["sim/\(chip)"])
    }
}
