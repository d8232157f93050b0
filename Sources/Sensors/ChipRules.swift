import Accelerometers
public import Daemon
import GPIO
import Traces

/// The sensor checks `run`, reload and `config check` share, generated from the chip registry:
/// chip names, each chip's rates, ranges and addresses, the simulated buses and what the simulator
/// accepts, one GPIO line per sensor and one `auto` sensor per bus.
public struct ChipRules: SensorRules {
    public init() {}

    public func apply(to entries: inout [SensorEntry]) -> [SensorIssue] {
        var issues: [SensorIssue] = []
        for i in entries.indices {
            issues += check(&entries[i])
        }
        issues += across(entries)
        return issues
    }

    /// One sensor alone.
    func check(_ e: inout SensorEntry) -> [SensorIssue] {
        var out: [SensorIssue] = []
        func fail(_ key: String?, _ message: String) {
            out.append(SensorIssue(path: e.path, key: key, message: message))
        }
        let s = e.sensor
        // The chip: named by the simulated bus, by `chip`, or found by its ID register.
        var row: ChipDescription? = nil
        if s.isSimulated {
            let name = String(s.bus.dropFirst(4))
            guard let simulated = ChipRegistry.named(name) else {
                fail(
                    "bus",
                    "unknown simulated chip `\(name)`\(suggestion(name)); expected \(ChipRegistry.simulatedBusList)"
                )
                return out
            }
            row = simulated
        }
        if s.chip != .auto {
            if let named = ChipRegistry.named(s.chip.rawValue) {
                if let row, row.kind != named.kind {
                    fail("chip", "the simulated bus holds a \(row.name), not a \(named.name)")
                    return out
                }
                row = named
                e.sensor.chip = ChipName(named.name)
            } else {
                fail(
                    "chip",
                    "unknown chip `\(s.chip.rawValue)`\(suggestion(s.chip.rawValue)); expected auto or \(ChipRegistry.nameList)"
                )
            }
        }
        // Which chips can be there: the one named, or every chip that answers at the address.
        let candidates: [ChipDescription]
        if let row {
            candidates = [row]
        } else if case .fixed(let a) = s.address {
            candidates = ChipRegistry.candidates(at: a)
            if candidates.isEmpty {
                fail(
                    "address",
                    "no supported chip answers at \(BusName.hex(a)); the chips' addresses: \(ChipRegistry.addressSummary)"
                )
                return out
            }
        } else {
            candidates = ChipRegistry.all
        }
        if case .fixed(let a) = s.address, let row, !row.kind.addresses.contains(a) {
            fail(
                "address",
                "a \(row.kind.displayName) answers at \(ChipRegistry.or(row.kind.addresses.map(BusName.hex))), not \(BusName.hex(a))"
            )
        }
        // The rate: one the chip can do exactly (the driver would otherwise round it).
        if s.trace == nil {
            if e.given.contains("rate") {
                if !candidates.contains(where: { supports($0.kind.supportedRates, s.rate) }) {
                    fail(
                        "rate",
                        "\(what(candidates)) runs at \(ChipRegistry.number(s.rate)) Hz; rates: \(rates(candidates))"
                    )
                }
            } else if let row {
                e.sensor.rate = row.kind.defaultRate
            }
        }
        if e.given.contains("range"),
            !candidates.contains(where: { supports($0.kind.supportedRanges, Double(s.rangeG)) })
        {
            fail("range", "\(what(candidates)) has a ±\(s.rangeG) g range; ranges: \(ranges(candidates))")
        }
        // What the simulator accepts (the same construction `run` makes).
        if s.isSimulated && s.trace == nil && out.isEmpty {
            do {
                _ = try TraceSimulator(configuration: SensorTables.simulation(for: e.sensor))
            } catch {
                fail(
                    e.given.contains("rate") ? "rate" : nil,
                    "the simulated limb cannot run: \(error.description)")
            }
        }
        if let interrupt = s.interrupt, !s.isSimulated {
            do { _ = try GPIOLineSpec(parsing: interrupt) } catch {
                fail("interrupt", "\(error)")
            }
        }
        return out
    }

    /// Sensors against each other.
    func across(_ entries: [SensorEntry]) -> [SensorIssue] {
        var out: [SensorIssue] = []
        var lines: [String: String] = [:]
        var autoOnBus: [String: String] = [:]
        for e in entries {
            let s = e.sensor
            if let interrupt = s.interrupt, !s.isSimulated {
                let key = (try? GPIOLineSpec(parsing: interrupt))?.description ?? interrupt
                if let other = lines[key] {
                    out.append(
                        SensorIssue(
                            path: e.path, key: "interrupt",
                            message:
                                "GPIO line \(interrupt) is already the data-ready line of \(other); each sensor needs its own"
                        ))
                } else {
                    lines[key] = e.path
                }
            }
            if case .auto = s.address, !s.isSimulated {
                if let other = autoOnBus[s.bus] {
                    out.append(
                        SensorIssue(
                            path: e.path, key: "address",
                            message:
                                "\(other) already takes the first chip found on \(s.bus); give each sensor on a bus its address"
                        ))
                } else {
                    autoOnBus[s.bus] = e.path
                }
            }
        }
        return out
    }

    private func supports(_ values: [Double], _ v: Double) -> Bool {
        values.contains { abs($0 - v) < 1e-9 * max(1, abs(v)) }
    }

    private func what(_ candidates: [ChipDescription]) -> String {
        candidates.count == 1 ? "no \(candidates[0].kind.displayName)" : "no chip that can be there"
    }

    private func rates(_ candidates: [ChipDescription]) -> String {
        candidates.map { (candidates.count > 1 ? $0.kind.displayName + " " : "") + $0.rateList }.joined(
            separator: "; ")
    }

    private func ranges(_ candidates: [ChipDescription]) -> String {
        candidates.map { (candidates.count > 1 ? $0.kind.displayName + " " : "") + $0.rangeList }.joined(
            separator: "; ")
    }

    private func suggestion(_ name: String) -> String {
        closest(ChipKind.key(name), in: ChipRegistry.all.map(\.name)).map { "; did you mean `\($0)`?" } ?? ""
    }
}

/// Loading a configuration with the sensor rules: what `run`, its reload and `config check` all
/// call, so that they validate exactly alike.
public enum SensorConfigurations {
    /// Reads, parses and validates `path`.
    public static func load(path: String) throws(ConfigErrors) -> DaemonConfiguration {
        try ConfigLoader.load(path: path, rules: ChipRules())
    }

    /// Parses and validates a configuration's text.
    public static func parse(_ text: String, file: String, checkFiles: Bool = true) throws(ConfigErrors)
        -> DaemonConfiguration
    {
        try ConfigLoader.parse(text, file: file, checkFiles: checkFiles, rules: ChipRules())
    }
}
