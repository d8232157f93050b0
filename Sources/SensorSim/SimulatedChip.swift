public import SensorBus
public import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bus traffic counted by a simulated chip.
public struct BusCounters: Sendable, Equatable {
    /// I2C transactions (one register write, one register read, or one burst read each).
    public var transactions = 0
    public var readTransactions = 0
    public var writeTransactions = 0
    /// Payload bytes moved (register address bytes not included).
    public var bytesRead = 0
    public var bytesWritten = 0
    /// Bits on the wire: 9 per byte (address, register, data, each with its ACK) plus start,
    /// repeated start and stop. A read is `S addr+W reg Sr addr+R data... P`, a write `S addr+W reg data P`.
    public var wireBits = 0

    public init() {}
}

/// The chip's sample accounting, to check a driver's lost-sample reports against.
public struct SampleCounters: Sendable, Equatable {
    /// Samples the chip's oscillator produced while measuring (one source value each).
    public var produced = 0
    /// Samples read out completely by the host.
    public var delivered = 0
    /// Samples waiting in the FIFO (or the data registers) now.
    public var waiting = 0
    /// Samples that will never be delivered: overwritten, flushed, or dropped by a fault.
    public var lost: Int { produced - delivered - waiting }
}

/// A register-level model of one accelerometer behind ``SensorBus``, with its data-ready /
/// watermark line as an ``InterruptLine``.
///
/// Time comes from a ``TimeSource``: on a ``VirtualClock`` the chip runs as fast as possible and
/// every transaction advances the clock by its duration on the wire; on ``SystemTime`` it runs in
/// real time. The oscillator runs `oscillatorError` off nominal (a few percent, like real chips).
/// Subclasses model one chip each: registers, FIFO, encoding.
open class SimulatedChip: SensorBus {
    public let address: UInt8
    public let maxBurstLength: Int
    public var name: String { "sim:\(chipName)@0x\(String(address, radix: 16))" }
    /// e.g. `adxl345`.
    open var chipName: String { "chip" }

    public let time: any TimeSource
    /// `time` when it is a virtual clock (looked up once: transactions charge their wire time to it).
    private let virtualClock: VirtualClock?
    public let source: any SampleSource
    /// Relative error of the oscillator, e.g. 0.025 = 2.5 % fast.
    public let oscillatorError: Double
    /// I2C clock used to charge transactions to a virtual clock, in Hz.
    public var busSpeedHz: Double

    public internal(set) var counters = BusCounters()
    var sampleCounts = SampleCounters()
    /// Produced / delivered / waiting samples, as of now.
    public var samples: SampleCounters {
        var s = sampleCounts
        s.waiting = waitingSamples
        return s
    }
    /// Configuration writes made while measuring (the datasheets say: configure in standby).
    public internal(set) var violations: [String] = []
    /// Whether the source has run dry.
    public internal(set) var sourceExhausted = false
    /// The data-ready / watermark line (INT1).
    public private(set) lazy var interruptLine = SimulatedInterruptLine(chip: self)

    /// Register file (chip subclasses interpret it).
    var regs = [UInt8](repeating: 0, count: 256)

    // Faults.
    private var nackCount = 0
    private var eioCount = 0
    private var vanished = false
    private var returnAtNs: UInt64? = nil
    /// While true the FIFO accepts no samples (they are dropped) and raises no interrupt; cleared
    /// when the host rewrites the FIFO mode or reconfigures.
    public var stuckFIFO = false
    /// When set, the ID register reads this value instead.
    public var wrongID: UInt8? = nil
    private var pendingStallNs: UInt64 = 0

    // Sample production.
    private var measuring = false
    private var measureStartNs: UInt64 = 0
    private var ticks: UInt64 = 0
    private var periodNs: Double = 0
    var selfTestOffset = Vector3.zero
    /// The oscillator tick of the sample being produced (for models whose INT pin pulses).
    var producingAtNs: UInt64 = 0

    public required init(
        address: UInt8, source: any SampleSource, time: any TimeSource, oscillatorError: Double = 0.025,
        maxBurstLength: Int = 32, busSpeedHz: Double = 400_000
    ) {
        self.address = address
        self.source = source
        self.time = time
        self.virtualClock = time as? VirtualClock
        self.oscillatorError = oscillatorError
        self.maxBurstLength = maxBurstLength
        self.busSpeedHz = busSpeedHz
        powerOnReset()
    }

    // MARK: - Subclass interface

    /// Register defaults at power-on.
    open func powerOnReset() {
        regs = [UInt8](repeating: 0, count: 256)
        measuring = false
        selfTestOffset = .zero
    }
    /// The ID register (for ``wrongID``).
    open var idRegister: UInt8 { 0 }
    /// The chip's nominal output rate from its registers.
    open var nominalRateHz: Double { 100 }
    /// Whether the registers say "measure".
    open var registersSayMeasure: Bool { false }
    /// Registers that must be written only in standby.
    open var standbyOnlyRegisters: Set<UInt8> { [] }
    /// Reads a burst starting at `register` (address increment and FIFO pops are chip business).
    open func readBurst(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) {}
    /// Applies a register write.
    open func write(_ register: UInt8, _ value: UInt8) { regs[Int(register)] = value }
    /// Takes one new sample (already including self-test deflection) into the data registers/FIFO.
    open func produce(_ g: Vector3) {}
    /// The INT1 pin level now.
    open var interruptLevel: Bool { false }
    /// Whether the INT1 pin only pulses at the instant of a sample (``interruptLevel`` depends on
    /// the clock reading exactly that instant) rather than holding a level until acknowledged.
    open var interruptIsPulse: Bool { false }
    /// Samples waiting to be read.
    open var waitingSamples: Int { 0 }

    // MARK: - Fault injection

    /// The next `count` transactions are not acknowledged (ENXIO).
    public func injectNACK(count: Int) { nackCount += count }
    /// The next `count` transactions fail on the wire (EIO).
    public func injectBusErrors(count: Int) { eioCount += count }
    /// The device disappears (unplugged or powered off): every transaction NACKs. With a
    /// duration, it returns on its own after that long, power-on reset (standby, default registers).
    public func vanish(forNanoseconds ns: UInt64? = nil) {
        catchUp()
        vanished = true
        measuring = false
        returnAtNs = ns.map { time.monotonicNanoseconds() &+ $0 }
    }
    /// The device comes back with power-on register values.
    public func reappear() {
        vanished = false
        returnAtNs = nil
        powerOnReset()
    }
    public var isPresent: Bool { !vanished }
    /// The host stalls for `ns` before its next transaction (on a virtual clock, time jumps).
    public func stall(nanoseconds ns: UInt64) { pendingStallNs &+= ns }

    // MARK: - SensorBus

    public func readRegister(_ register: UInt8) throws(BusError) -> UInt8 {
        var b: UInt8 = 0
        try withUnsafeMutableBytes(of: &b) { (p) throws(BusError) in try readRegisters(register, into: p) }
        return b
    }

    public func writeRegister(_ register: UInt8, value: UInt8) throws(BusError) {
        try begin(bits: 9 * 3 + 2, register: register, write: true)
        counters.writeTransactions += 1
        counters.bytesWritten += 1
        if measuring && standbyOnlyRegisters.contains(register) {
            violations.append(
                "write 0x\(String(register, radix: 16)) = 0x\(String(value, radix: 16)) while measuring")
        }
        write(register, value)
        updateMeasuring()
    }

    public func readRegisters(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(BusError)
    {
        guard buffer.count <= maxBurstLength else {
            throw BusError(kind: .unsupported, errno: EINVAL, operation: "read \(buffer.count) bytes")
        }
        try begin(bits: 9 * (3 + buffer.count) + 3, register: register, write: false)
        counters.readTransactions += 1
        counters.bytesRead += buffer.count
        readBurst(register, into: buffer)
        if let id = wrongID, register <= idRegister, Int(idRegister) < Int(register) + buffer.count {
            buffer[Int(idRegister - register)] = id
        }
    }

    /// Charges the transaction to the clock, applies faults, and brings the sample stream up to now.
    /// (No allocation unless it fails: the operation's text is built only for an error.)
    private func begin(bits: Int, register: UInt8, write: Bool) throws(BusError) {
        if pendingStallNs > 0 {
            time.sleep(nanoseconds: pendingStallNs)
            pendingStallNs = 0
        }
        if let vc = virtualClock {
            vc.advance(by: UInt64(Double(bits) / busSpeedHz * 1e9))
        }
        if vanished, let r = returnAtNs, time.monotonicNanoseconds() >= r {
            reappear()
        }
        counters.transactions += 1
        counters.wireBits += bits
        if vanished {
            throw BusError(kind: .addressNotAcknowledged, errno: ENXIO, operation: operation(register, write))
        }
        if nackCount > 0 {
            nackCount -= 1
            throw BusError(kind: .addressNotAcknowledged, errno: ENXIO, operation: operation(register, write))
        }
        if eioCount > 0 {
            eioCount -= 1
            throw BusError(kind: .busError, errno: EIO, operation: operation(register, write))
        }
        catchUp()
    }

    private func operation(_ register: UInt8, _ write: Bool) -> String {
        (write ? "write 0x" : "read 0x") + String(register, radix: 16)
    }

    // MARK: - Sample production

    /// Produces every sample the oscillator ticked out up to now.
    public func catchUp() { catchUp(to: time.monotonicNanoseconds()) }

    func catchUp(to now: UInt64) {
        guard measuring, !vanished else { return }
        while let t = nextSampleTime, t <= now {
            guard let g = source.nextAcceleration() else {
                sourceExhausted = true
                return
            }
            ticks += 1
            sampleCounts.produced += 1
            if stuckFIFO {
                continue
            }
            producingAtNs = t
            produce(g + selfTestOffset)
        }
    }

    /// When the next sample will be produced, or nil when none will (standby, gone, source empty).
    var nextSampleTime: UInt64? {
        guard measuring, !vanished, !sourceExhausted else { return nil }
        return measureStartNs &+ UInt64((Double(ticks + 1) * periodNs).rounded())
    }

    /// Re-reads the power registers: entering measure starts the oscillator, leaving stops it.
    func updateMeasuring() {
        let m = registersSayMeasure
        if m && !measuring {
            measuring = true
            measureStartNs = time.monotonicNanoseconds()
            ticks = 0
            periodNs = 1e9 / (nominalRateHz * (1 + oscillatorError))
        } else if !m && measuring {
            measuring = false
        }
    }

    public var isMeasuring: Bool { measuring }

    /// Called by subclasses when a sample has been read out completely.
    func delivered(_ n: Int = 1) {
        sampleCounts.delivered += n
    }

    /// Encodes `g` at `gPerLSB` into a signed count clamped to `bits`.
    static func counts(_ g: Double, gPerLSB: Double, bits: Int) -> Int32 {
        let maxV = Double((1 << (bits - 1)) - 1)
        let v = min(max((g / gPerLSB).rounded(), -maxV - 1), maxV)
        return Int32(v)
    }

    /// The three axes of `g` as signed `bits`-bit counts of `gPerLSB` each, clipped.
    static func counts(_ g: Vector3, gPerLSB: Double, bits: Int) -> (Int32, Int32, Int32) {
        (
            counts(g.x, gPerLSB: gPerLSB, bits: bits), counts(g.y, gPerLSB: gPerLSB, bits: bits),
            counts(g.z, gPerLSB: gPerLSB, bits: bits)
        )
    }

    /// Moves the clock toward `deadline`, producing samples, until the INT line rises.
    func waitForEdge(timeoutNanoseconds: Int64) -> UInt64? {
        let start = time.monotonicNanoseconds()
        let deadline = start &+ UInt64(max(timeoutNanoseconds, 0))
        catchUp(to: start)
        if vanished, let r = returnAtNs, r <= deadline {
            // Comes back (in standby: no edges) during the wait.
            sleep(until: deadline)
            return nil
        }
        // A line already high gives no rising edge.
        if interruptLevel && !stuckFIFO {
            sleep(until: deadline)
            catchUp(to: deadline)
            return nil
        }
        if interruptIsPulse {
            // The level is only high at the instant of a sample: step the clock sample by sample.
            while true {
                guard let t = nextSampleTime, t <= deadline else {
                    sleep(until: deadline)
                    catchUp(to: deadline)
                    return nil
                }
                sleep(until: t)
                catchUp(to: t)
                if interruptLevel && !stuckFIFO { return t }
            }
        }
        // A latched level: nothing but the oscillator changes the chip while the host waits, so
        // produce ahead (the samples are the same whenever they are computed) to find the sample
        // that raises the line, then sleep once until its time. One wake-up per edge, not one per
        // sample, on the real clock.
        while true {
            guard let t = nextSampleTime, t <= deadline else {
                sleep(until: deadline)
                catchUp(to: deadline)
                return nil
            }
            catchUp(to: t)
            if interruptLevel && !stuckFIFO {
                sleep(until: t)
                return t
            }
        }
    }

    private func sleep(until t: UInt64) {
        let now = time.monotonicNanoseconds()
        if t > now { time.sleep(nanoseconds: t - now) }
        if let vc = virtualClock { vc.advance(to: t) }
    }
}

/// The simulated chip's INT1 pin.
public final class SimulatedInterruptLine: InterruptLine {
    unowned let chip: SimulatedChip
    /// Rising edges handed out.
    public private(set) var edges = 0

    init(chip: SimulatedChip) { self.chip = chip }

    public var name: String { "\(chip.name):INT1" }

    public func waitForRisingEdge(timeoutNanoseconds: Int64) throws(BusError) -> UInt64? {
        let t = chip.waitForEdge(timeoutNanoseconds: timeoutNanoseconds)
        if t != nil { edges += 1 }
        return t
    }
}
