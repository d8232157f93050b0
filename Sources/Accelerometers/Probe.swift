public import SensorBus
public import TwitchCore

/// What was found at one address.
public struct ProbeResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// A supported chip answered with the right ID.
        case found(ChipKind)
        /// Something acknowledged the address, but no supported chip's ID matched.
        case unknown(register: UInt8, value: UInt8)
        /// Nothing acknowledged the address (ENXIO).
        case absent
        /// The bus failed in another way.
        case error(BusError)
    }

    public var address: UInt8
    public var outcome: Outcome

    public var chip: ChipKind? {
        if case .found(let k) = outcome { return k }
        return nil
    }
}

/// The result of ``Accelerometer/selfCheck(bus:chip:time:)``.
public struct SelfCheckReport: Sendable, Equatable {
    /// Mean acceleration over the check, in g.
    public var mean: Vector3
    /// Whether |mean| is within 0.85-1.15 g: gravity only, sensor at rest and scaled right.
    public var restPlausible: Bool { (0.85...1.15).contains(mean.magnitude) }
    /// Self-test deflection (self-test on minus off), in g, when the chip has a judged self-test.
    public var selfTestDelta: Vector3?
    /// Whether the deflection is within the datasheet's window (nil when not run).
    public var selfTestPassed: Bool?
    /// The measured output rate over the check, in Hz.
    public var measuredRate: Double
}

extension Accelerometer {
    /// Scans `addresses` (default: every address one of `chips` can have) and identifies which of
    /// `chips` answers by ID register, before touching anything else.
    public static func probe(adapter: any BusAdapter, chips: [ChipKind], addresses: [UInt8]? = nil)
        -> [ProbeResult]
    {
        let addresses = addresses ?? ChipKind.addresses(of: chips)
        var results: [ProbeResult] = []
        for address in addresses {
            let bus: any SensorBus
            do { bus = try adapter.device(at: address) } catch {
                results.append(ProbeResult(address: address, outcome: .error(error)))
                continue
            }
            do {
                let kind = try identify(bus: bus, among: chips)
                results.append(ProbeResult(address: address, outcome: .found(kind)))
            } catch {
                switch error {
                // ENXIO is how most adapters say nobody acknowledged the address; some (the
                // kernel's i2c-stub among them) answer ENODEV for an address with no device.
                case .bus(let e) where e.kind == .addressNotAcknowledged || e.kind == .deviceGone:
                    results.append(ProbeResult(address: address, outcome: .absent))
                case .bus(let e):
                    results.append(ProbeResult(address: address, outcome: .error(e)))
                case .notIdentified(_, let r, let v), .wrongID(_, _, let r, _, let v):
                    results.append(ProbeResult(address: address, outcome: .unknown(register: r, value: v)))
                default:
                    results.append(
                        ProbeResult(
                            address: address, outcome: .error(BusError(kind: .other, operation: "probe"))))
                }
            }
        }
        return results
    }

    /// A short self-check: streams about 0.2 s at the default settings and checks the mean is a
    /// plausible 1 g; then, where the chip has a self-test that can be judged, measures the
    /// deflection with self-test on. Leaves the chip in standby.
    public static func selfCheck(bus: any SensorBus, chip: ChipKind, time: any TimeSource)
        throws(AccelerometerError) -> SelfCheckReport
    {
        // The widest range, so the self-test deflection on top of 1 g does not clip (the ADXL345
        // datasheet specifies its self-test at ±16 g).
        let settings = AccelerometerSettings(rangeG: chip.supportedRanges.max(), useFIFO: true)
        let accel = try Accelerometer(bus: bus, chip: .chip(chip), settings: settings, time: time)
        try accel.start()
        let rest = try accel.meanOver(seconds: 0.25)
        var delta: Vector3? = nil
        var passed: Bool? = nil
        if let limits = accel.driver.selfTestLimits {
            try accel.driver.setSelfTest(bus, accel.configuration, on: true)
            try accel.restartStreaming()
            _ = try accel.meanOver(seconds: 0.05)  // let the actuation settle
            let on = try accel.meanOver(seconds: 0.2)
            try accel.driver.setSelfTest(bus, accel.configuration, on: false)
            let d = on - rest
            delta = d
            passed = limits.x.contains(d.x) && limits.y.contains(d.y) && limits.z.contains(d.z)
        }
        let rate = accel.measuredRate
        try accel.standby()
        return SelfCheckReport(mean: rest, selfTestDelta: delta, selfTestPassed: passed, measuredRate: rate)
    }

    /// Restarts streaming after a register change made outside ``start()`` (self-test).
    func restartStreaming() throws(AccelerometerError) {
        do { try driver.flushFIFO(bus, configuration) } catch { throw .bus(error) }
        clock.resetPhase()
        pendingFrames = 0
    }

    /// Mean of the samples read over about `seconds`.
    func meanOver(seconds: Double) throws(AccelerometerError) -> Vector3 {
        let want = max(4, Int(seconds * configuration.rateHz))
        var sum = Vector3.zero
        var got = 0
        var buffer = [TimedSample](repeating: .zero, count: 64)
        var idle = 0
        while got < want && idle < 20 {
            // Through a Result: Swift 6.0's withUnsafeMutableBufferPointer rethrows `any Error`
            // (typed throws came to it in 6.1), and the Raspberry Pi's swiftlang is 6.0.
            let r = try buffer.withUnsafeMutableBufferPointer { readResult(into: $0) }.get()
            if r.count == 0 { idle += 1 }
            for i in 0..<min(r.count, want - got) { sum = sum + buffer[i].acceleration }
            got += min(r.count, want - got)
        }
        return got > 0 ? sum * (1 / Double(got)) : .zero
    }

    /// ``read(into:)`` with its typed error kept in a Result, for closures that rethrow `any Error`.
    private func readResult(into buffer: UnsafeMutableBufferPointer<TimedSample>) -> Result<
        ReadResult, AccelerometerError
    > {
        do { return .success(try read(into: buffer)) } catch { return .failure(error) }
    }
}
