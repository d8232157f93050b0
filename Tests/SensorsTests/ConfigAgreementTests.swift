import Accelerometers
import Daemon
import Foundation
import Sensors
import Testing

/// `config check`, `run` and its reload load configurations with the same rules
/// (``SensorConfigurations``); these tests check that what the rules accept is what `run`'s sensor
/// path can actually do: each configuration generated from the chip registry is accepted exactly
/// when the drivers factory opens its sensor and the chip applies the configured rate and range
/// unchanged.
@Suite("configuration checks agree with run")
struct ConfigAgreementTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var chip: String
        var rate: Double
        var range: Int
        var testDescription: String { "sim:\(chip) \(rate) Hz ±\(range) g" }
    }

    /// For every chip: each rate it has and a rate between two of them, above its fastest and
    /// below its slowest; each range it has and one it lacks.
    static var cases: [Case] {
        var out: [Case] = []
        for row in ChipRegistry.all {
            let rates = row.kind.supportedRates.sorted()
            var tried = rates
            if rates.count > 1 { tried.append((rates[rates.count - 2] + rates[rates.count - 1]) / 2 + 1) }
            tried.append((rates.last ?? 1000) * 1.5)
            tried.append((rates.first ?? 1) / 2)
            for rate in tried { out.append(Case(chip: row.name, rate: rate, range: 2)) }
            for range in row.kind.supportedRanges.map({ Int($0) }) + [3, 32] {
                out.append(Case(chip: row.name, rate: row.kind.defaultRate, range: range))
            }
        }
        return out
    }

    static func text(_ c: Case) -> String {
        """
        [[sensor]]
        bus = "sim:\(c.chip)"
        rate = \(c.rate)
        range = \(c.range)
        speed = 1000
        location = "calf"
        """
    }

    /// What `run` does with the sensor: builds its source and reads until the chip is
    /// configured. Returns the configuration note, or nil when the source cannot be built.
    static func runApplies(_ sensor: SensorConfiguration) -> String? {
        let source: any SampleSource
        do { source = try SourceFactories.drivers(sensor) } catch { return nil }
        defer { source.standby() }
        let buffer = UnsafeMutableBufferPointer<AcquiredSample>.allocate(capacity: 512)
        defer { buffer.deallocate() }
        do {
            try source.start()
            for _ in 0..<50 {
                let r = try source.read(into: buffer)
                if let note = r.note { return note }
            }
        } catch { return nil }
        return nil
    }

    @Test("accepted exactly when run's sensor path applies the configured rate and range", arguments: cases)
    func agreement(_ c: Case) throws {
        let accepted: DaemonConfiguration?
        do { accepted = try SensorConfigurations.parse(Self.text(c), file: "g.toml") } catch {
            accepted = nil
        }
        // What run would do with the same table loaded without the rules.
        let raw = try ConfigLoader.parse(Self.text(c), file: "g.toml")
        let sensor = try #require(raw.sensors.first)
        let note = Self.runApplies(sensor)
        let row = try #require(ChipRegistry.named(c.chip))
        let expected = "\(row.kind.displayName) \(Self.number(c.rate)) Hz ±\(c.range) g"
        let applied = note?.contains(expected) ?? false
        #expect(
            (accepted != nil) == applied,
            "config check \(accepted != nil ? "accepts" : "refuses"); run applies \(note ?? "nothing")")
    }

    static func number(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

    @Test("a rate left out becomes the chip's default, which run applies")
    func defaultRate() throws {
        for row in ChipRegistry.all {
            let text = "[[sensor]]\nbus = \"sim:\(row.name)\"\nspeed = 1000\nlocation = \"calf\"\n"
            let c = try SensorConfigurations.parse(text, file: "d.toml")
            let sensor = try #require(c.sensors.first)
            #expect(sensor.rate == row.kind.defaultRate)
            let note = Self.runApplies(sensor)
            #expect(
                note?.contains("\(Self.number(row.kind.defaultRate)) Hz") == true,
                "\(row.name): \(note ?? "-")")
        }
    }

    static func issues(_ text: String) -> [ConfigIssue] {
        do {
            _ = try SensorConfigurations.parse(text, file: "x.toml", checkFiles: false)
            return []
        } catch { return error.issues }
    }

    @Test("each chip is refused at an address it cannot answer at, accepted at its own")
    func addresses() {
        for row in ChipRegistry.all {
            for a in ChipRegistry.addresses {
                let text = """
                    [[sensor]]
                    bus = "/dev/i2c-1"
                    chip = "\(row.name)"
                    address = \(a)
                    location = "calf"
                    """
                let found = Self.issues(text)
                if row.kind.addresses.contains(a) {
                    #expect(found.isEmpty, "\(row.name) at \(a): \(found)")
                } else {
                    #expect(
                        found.map(\.description) == [
                            "x.toml:4: sensor[0].address: a \(row.kind.displayName) answers at "
                                + Self.or(row.kind.addresses.map(BusName.hex)) + ", not \(BusName.hex(a))"
                        ])
                }
            }
        }
    }

    static func or(_ items: [String]) -> String {
        items.count > 1 ? items.dropLast().joined(separator: ", ") + " or " + (items.last ?? "") : items[0]
    }

    @Test("a LIS3DH at 0x1D is refused with file, line and key")
    func lis3dhAt1D() {
        let found = Self.issues(
            "[[sensor]]\nbus = \"/dev/i2c-1\"\naddress = 0x1D\nchip = \"lis3dh\"\nlocation = \"a\"\n")
        #expect(
            found.map(\.description) == [
                "x.toml:3: sensor[0].address: a LIS3DH answers at 0x18 or 0x19, not 0x1d"
            ])
    }

    @Test("one GPIO line per sensor, also when spelt differently")
    func oneLinePerSensor() {
        let text = """
            [[sensor]]
            bus = "/dev/i2c-1"
            address = 0x53
            interrupt = "GPIO17"
            location = "a"
            [[sensor]]
            bus = "/dev/i2c-1"
            address = 0x1D
            interrupt = "GPIO17"
            location = "b"
            """
        let found = Self.issues(text)
        #expect(found.map { "\($0.line) \($0.key ?? "-")" } == ["9 sensor[1].interrupt"])
        #expect(found.first?.message.contains("sensor[0]") == true)
    }

    @Test("one auto sensor per bus; auto on two buses is fine")
    func oneAutoPerBus() {
        let two =
            "[[sensor]]\nbus = \"/dev/i2c-1\"\nlocation = \"a\"\n[[sensor]]\nbus = \"/dev/i2c-1\"\nlocation = \"b\"\n"
        #expect(Self.issues(two).map { "\($0.line) \($0.key ?? "-")" } == ["4 sensor[1].address"])
        let apart =
            "[[sensor]]\nbus = \"/dev/i2c-1\"\nlocation = \"a\"\n[[sensor]]\nbus = \"/dev/i2c-0\"\nlocation = \"b\"\n"
        #expect(Self.issues(apart).isEmpty)
    }

    @Test("rate = 1 on a simulated bus is refused (the simulated limb needs 10 Hz or more)")
    func rateOneOnSimulatedBus() {
        let found = Self.issues("[[sensor]]\nbus = \"sim:lis3dh\"\nrate = 1\nlocation = \"a\"\n")
        #expect(found.map { "\($0.line) \($0.key ?? "-")" } == ["3 sensor[0].rate"])
        #expect(found.first?.message.contains("10...10000") == true)
    }

    @Test("the old 1...6664 limit is gone: a chip's own fastest rate is accepted")
    func noStaleLimit() {
        #expect(Self.issues("[[sensor]]\nbus = \"sim:adxl355\"\nrate = 4000\nlocation = \"a\"\n").isEmpty)
        let found = Self.issues("[[sensor]]\nbus = \"sim:adxl355\"\nrate = 5000\nlocation = \"a\"\n")
        #expect(
            found.map(\.description).first?.hasPrefix("x.toml:3: sensor[0].rate: no ADXL355 runs at 5000 Hz")
                == true)
    }

    @Test("error texts name the registry's chips")
    func generatedTexts() {
        let found = Self.issues("[[sensor]]\nbus = \"sim:adxl999\"\nlocation = \"a\"\n")
        #expect(found.first?.message.contains(ChipRegistry.simulatedBusList) == true)
        for row in ChipRegistry.all {
            #expect(ChipRegistry.nameList.contains(row.name))
            #expect(ChipRegistry.addressSummary.contains(row.kind.displayName))
        }
    }
}
