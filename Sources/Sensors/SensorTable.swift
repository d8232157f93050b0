import Accelerometers
public import Daemon
import SensorSim
import Traces

extension SourceFactories {
    /// Every sensor through its chip driver, opened by ``OpenedSensor/open(_:)``: `/dev/i2c-N`
    /// buses with the Linux adapter (and a GPIO data-ready line when `interrupt` is set),
    /// `sim:CHIP` buses with a simulated chip fed by the simulator or a trace file.
    public static let drivers: SourceFactory = { sensor throws(SourceError) in
        let (request, rate) = try request(for: sensor)
        let opened: OpenedSensor
        do throws(SensorOpenError) { opened = try OpenedSensor.open(request) } catch {
            throw SourceError(error.description, transient: error.isTransient)
        }
        let model = opened.simulated
        return DriverSource(
            opened: opened, nominalRate: rate,
            exhausted: sensor.trace == nil ? nil : { model?.sourceExhausted ?? false })
    }

    /// The request for a `[[sensor]]` table, and the rate the source announces before the chip
    /// is configured.
    static func request(for sensor: SensorConfiguration) throws(SourceError) -> (SensorRequest, Double) {
        let chip: ChipKind?
        if sensor.chip == .auto {
            chip = sensor.isSimulated ? SensorTables.simulatedChip(sensor)?.kind : nil
        } else if let row = ChipRegistry.named(sensor.chip.rawValue) {
            chip = row.kind
        } else {
            throw SourceError(
                "no driver for \(sensor.chip.rawValue) in this build (\(ChipRegistry.nameList))",
                transient: false)
        }
        var address: UInt8? = nil
        if case .fixed(let a) = sensor.address { address = a }
        var request = SensorRequest(
            bus: sensor.bus, address: address, chip: chip,
            settings: AccelerometerSettings(rateHz: sensor.rate, rangeG: Double(sensor.rangeG)),
            interrupt: sensor.interrupt)
        guard sensor.isSimulated else { return (request, sensor.rate) }
        var rate = sensor.rate
        request.clock = .paced(sensor.speed)
        if let path = sensor.trace {
            // A trace plays at its own rate on an exact oscillator, so the driver delivers the
            // trace's samples on the trace's timeline (as `twitchd replay` reads them).
            do {
                let reader = try TraceReader(path: path)
                rate = reader.sampleRate
                request.feed = TraceSampleSource(reader: reader)
            } catch {
                throw SourceError("trace \(path): \(error)", transient: false)
            }
            request.settings.rateHz = rate
            request.oscillatorError = 0
        } else {
            do {
                request.feed = SimulatorSampleSource(
                    simulator: try TraceSimulator(configuration: SensorTables.simulation(for: sensor)))
            } catch {
                throw SourceError("simulator: \(error.description)", transient: false)
            }
        }
        return (request, rate)
    }
}

/// What the `[[sensor]]` tables mean to the sensor layer.
enum SensorTables {
    /// The chip a `sim:CHIP` bus holds.
    static func simulatedChip(_ sensor: SensorConfiguration) -> ChipDescription? {
        guard sensor.isSimulated else { return nil }
        return ChipRegistry.named(String(sensor.bus.dropFirst(4)))
    }

    /// The trace simulator's settings for a simulated sensor without a trace: the limb, at the
    /// configured rate, with the chip's noise (the chip model adds its own oscillator error).
    static func simulation(for sensor: SensorConfiguration) -> SimulationConfiguration {
        var c = SimulationConfiguration()
        c.seed = sensor.seed ?? 1
        c.duration = nil
        c.rate = sensor.rate
        c.sensor = simulatedChip(sensor)?.noise ?? c.sensor
        c.oscillatorError = 0
        c.location = sensor.location
        if let v = sensor.twitchesPerMinute { c.twitchesPerMinute = v }
        if let v = sensor.episodesPerHour { c.episodesPerHour = v }
        return c
    }
}
