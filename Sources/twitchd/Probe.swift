import Accelerometers
import ArgumentParser
import SensorBus
import Sensors
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// `twitchd probe`: finds supported accelerometers on a bus and checks them.
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Find supported accelerometers on an I2C bus and check that they work.",
        discussion: """
            Reads the ID register at every address a supported chip can have \
            (\(ChipRegistry.addressSummary)) before touching anything else. For each chip found it \
            streams a quarter of a second and checks that the mean is a plausible 1 g (the sensor \
            at rest), then runs the chip's self-test where it is judged (\(ChipRegistry.selfTestList)) \
            and leaves the chip in standby.

            Examples:
              twitchd probe                       the Pi's header bus, /dev/i2c-1
              twitchd probe --bus /dev/i2c-0
              twitchd probe --bus sim:adxl355     a simulated chip (no hardware)

            Exit status: 0 a chip was found; 69 no chip or no bus device; 77 permission denied \
            (add the user to the i2c group); 74 bus error.
            """)

    @Option(help: "The I2C bus device (/dev/i2c-N) or a simulated chip (\(ChipRegistry.simulatedBusList)).")
    var bus: String = "/dev/i2c-1"

    @Option(help: "Only this address (hex, e.g. 0x53).", transform: parseAddress)
    var address: UInt8?

    @Flag(help: "Only identify chips; skip the rest check and self-test.")
    var noSelfCheck = false

    func run() async throws {
        let opened: OpenedBus
        do { opened = try OpenedBus(spec: bus, clock: .virtual) } catch {
            printError("twitchd probe: \(error.description)")
            throw ExitCode(error.exit.rawValue)
        }
        let addresses = address.map { [$0] } ?? ChipRegistry.addresses
        _ = StandardOutput.line(
            "Scanning \(opened.adapter.name) at \(addresses.map(hexAddress).joined(separator: " "))")
        let results = Accelerometer.probe(
            adapter: opened.adapter, chips: ChipRegistry.kinds, addresses: addresses)
        var found = 0
        var worst: SysExit = .ok
        for r in results {
            let a = hexAddress(r.address)
            switch r.outcome {
            case .absent:
                _ = StandardOutput.line("  \(a)  no device")
            case .unknown(let reg, let v):
                _ = StandardOutput.line(
                    "  \(a)  unknown device (register \(hexAddress(reg)) = \(hexAddress(v)))")
            case .error(let e):
                _ = StandardOutput.line("  \(a)  bus error: \(e)")
                if e.kind == .permissionDenied {
                    worst = .noPerm
                } else if worst == .ok {
                    worst = .ioErr
                }
            case .found(let kind):
                found += 1
                var line = "  \(a)  \(kind.displayName.padded(toWidth: 9))"
                if !noSelfCheck {
                    line += "  " + selfCheck(kind: kind, address: r.address, opened: opened)
                }
                _ = StandardOutput.line(line)
            }
        }
        try StandardOutput.check("twitchd probe")
        if found > 0 { return }
        if worst != .ok { throw ExitCode(worst.rawValue) }
        printError(
            "twitchd probe: no supported accelerometer on \(opened.adapter.name). Check power, SDA/SCL wiring, "
                + "the address strap, and `i2cdetect -y \(opened.busNumber ?? 1)`.")
        throw ExitCode(SysExit.unavailable.rawValue)
    }

    private func selfCheck(kind: ChipKind, address: UInt8, opened: OpenedBus) -> String {
        do {
            let dev = try opened.adapter.device(at: address)
            let r = try Accelerometer.selfCheck(bus: dev, chip: kind, time: opened.time)
            var s =
                "at rest |a| = \(fmt(r.mean.magnitude, 3)) g (\(r.restPlausible ? "plausible" : "NOT 1 g: moving, or miswired?"))"
            if let d = r.selfTestDelta, let ok = r.selfTestPassed {
                s +=
                    "  self-test: \(ok ? "pass" : "FAIL") (\(fmt(d.x, 2, sign: true)), \(fmt(d.y, 2, sign: true)), \(fmt(d.z, 2, sign: true)) g)"
            } else {
                s += "  self-test: not judged for this chip"
            }
            s += "  rate \(fmt(r.measuredRate, 1)) Hz"
            return s
        } catch let e as AccelerometerError {
            return "self-check failed: \(e)"
        } catch {
            return "self-check failed: \(error)"
        }
    }
}

func parseAddress(_ text: String) throws -> UInt8 {
    let t = text.lowercased()
    let digits = t.hasPrefix("0x") ? String(t.dropFirst(2)) : t
    guard let v = UInt8(digits, radix: 16), v >= 0x03, v <= 0x77 else {
        throw ValidationError("address '\(text)' is not a 7-bit I2C address in 0x03...0x77 (hex)")
    }
    return v
}

func hexAddress(_ a: UInt8) -> String {
    let s = String(a, radix: 16)
    return "0x" + (s.count < 2 ? "0" + s : s)
}

func fmt(_ v: Double, _ decimals: Int, sign: Bool = false) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (abs(v) * scale).rounded() / scale
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < decimals { s += String(repeating: "0", count: decimals - have) }
        if have > decimals { s = String(s.prefix(s.distance(from: s.startIndex, to: dot) + 1 + decimals)) }
    }
    if v < 0 && r != 0 { return "-" + s }
    return sign ? "+" + s : s
}

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
}
