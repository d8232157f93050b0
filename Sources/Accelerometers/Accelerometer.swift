public import SensorBus
import TwitchCore

/// One accelerometer on one bus address: identifies it, configures it in standby, streams its
/// FIFO (or reads each data-ready sample in bypass mode), converts to g and timestamps every sample.
///
/// The acquisition thread owns it. ``read(into:)`` blocks on the interrupt line (or sleeps at the
/// FIFO's pace when there is none), does no allocation and no I/O but the bus.
///
/// ```swift
/// // Find sensors: ID registers only, nothing configured.
/// let found = Accelerometer.probe(adapter: try LinuxI2CAdapter(path: "/dev/i2c-1"), chips: chips)
///
/// // Stream one (FIFO, ~400-500 Hz, ±2 g by default).
/// let accel = try Accelerometer(bus: bus, chip: .identify(among: chips), settings: .default, interrupt: line,
///                               time: SystemTime.shared)
/// try accel.start()
/// let r = try accel.read(into: buffer)   // r.count samples, r.lost samples lost, r.overrun
/// accel.measuredRate                      // the chip's true rate, measured
/// try accel.standby()
///
/// // Or let the wrapper retry, re-probe and re-configure, and report what happened:
/// let sensor = ResilientAccelerometer(bus: bus, chip: .chip(.adxl345), interrupt: line,
///                                     time: SystemTime.shared)
/// let r = sensor.read(into: buffer)       // never throws; r.event: connected/lost/back/overrun
/// ```
///
/// Each chip and its table: ``ChipKind`` (one per driver file; the list is the `Sensors` registry). Settings: ``AccelerometerSettings`` (rate,
/// range, FIFO or bypass, watermark). Each sample: ``TimedSample`` (monotonic and wall-clock ns,
/// acceleration in g).
public final class Accelerometer {
    public let bus: any SensorBus
    public let interrupt: (any InterruptLine)?
    public let time: any TimeSource
    /// The chip and the configuration applied (or to be applied by ``start()``).
    public let configuration: ChipConfiguration
    public var chip: ChipKind { configuration.chip }

    let driver: any ChipDriver
    var clock: SampleClock
    private let raw: UnsafeMutableRawBufferPointer
    private var nextIndex: UInt64 = 0
    var pendingFrames = 0
    private var running = false
    private var lastProgressNs: UInt64 = 0
    private var lastPollNs: UInt64 = 0
    /// When the last status read that found a sample began. In bypass mode an edge no newer than
    /// this announced a sample that read already took (its edge was still queued when a wait timed
    /// out and we polled). A read that found nothing does not move it: an edge queued just before
    /// such a read is still the only announcement of its sample (the line can rise before the
    /// status register says so), and dropping it would leave the line high with no edge to come.
    private var lastReadStartNs: UInt64 = 0
    private var lastTimestampNs: UInt64 = 0
    private var mustPoll = false

    /// Samples delivered since ``start()``.
    public private(set) var samplesDelivered: UInt64 = 0
    /// Samples known lost since ``start()`` (overruns, flushes, missed data-ready).
    public private(set) var samplesLost: UInt64 = 0
    /// FIFO overruns seen since ``start()``.
    public private(set) var overruns: Int = 0

    /// The output rate measured against `CLOCK_MONOTONIC`, in Hz (the nominal rate until about
    /// 200 ms of samples have been seen).
    public var measuredRate: Double { clock.rateHz }

    /// Creates the engine. With `.identify`, reads the ID registers now to find out which chip it is.
    public init(
        bus: any SensorBus, chip: ChipSelection, settings: AccelerometerSettings = .default,
        interrupt: (any InterruptLine)? = nil, time: any TimeSource
    ) throws(AccelerometerError) {
        let kind: ChipKind
        switch chip {
        case .chip(let k): kind = k
        case .identify(let chips): kind = try Accelerometer.identify(bus: bus, among: chips)
        }
        self.bus = bus
        self.interrupt = interrupt
        self.time = time
        self.configuration = ChipConfiguration(chip: kind, settings: settings)
        self.driver = kind.driver
        self.clock = SampleClock(nominalRateHz: configuration.rateHz)
        let table = kind.table
        raw = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(table.fifoFrames, 1) * table.frameBytes + 64, alignment: 8)
    }

    deinit { raw.deallocate() }

    /// Identifies the chip at `bus` by its ID register(s), trying those of `chips` that can
    /// answer at its address.
    public static func identify(bus: any SensorBus, among chips: [ChipKind]) throws(AccelerometerError)
        -> ChipKind
    {
        var lastRegister: UInt8 = 0
        var lastValue: UInt8 = 0
        for kind in chips where kind.addresses.contains(bus.address) {
            let (register, value) = kind.identification
            let found: UInt8
            do { found = try bus.readRegister(register) } catch { throw .bus(error) }
            if found == value {
                try kind.driver.confirmIdentity(bus)
                return kind
            }
            lastRegister = register
            lastValue = found
        }
        throw .notIdentified(device: bus.name, register: lastRegister, found: lastValue)
    }

    /// Checks the chip's ID, configures it in standby and starts measuring. Safe to call again
    /// after an outage: the measured rate is kept, the timing phase is re-learnt.
    public func start() throws(AccelerometerError) {
        running = false
        let (register, value) = chip.identification
        let found: UInt8
        do { found = try bus.readRegister(register) } catch { throw .bus(error) }
        guard found == value else {
            throw .wrongID(chip: chip, device: bus.name, register: register, expected: value, found: found)
        }
        try driver.configure(bus, configuration)
        clock.resetPhase()
        pendingFrames = 0
        mustPoll = true  // drain whatever is there: a line already high gives no edge
        let now = time.monotonicNanoseconds()
        lastProgressNs = now
        lastPollNs = now
        running = true
    }

    /// Puts the chip in standby (low power, no samples).
    public func standby() throws(AccelerometerError) {
        running = false
        do { try driver.standby(bus) } catch { throw .bus(error) }
    }

    /// Waits for samples and writes them, oldest first, to the front of `buffer`.
    ///
    /// Returns after one FIFO batch (or one data-ready sample in bypass mode), or with `count` 0
    /// when a wait timed out or an overrun was flushed; `lost` says how many samples the chip
    /// produced that will never come. Throws on bus errors and when the chip stopped producing
    /// samples (``AccelerometerError/stalled(nanoseconds:)``); call ``start()`` to recover.
    public func read(into buffer: UnsafeMutableBufferPointer<TimedSample>) throws(AccelerometerError)
        -> ReadResult
    {
        guard running else { throw .notStarted }
        guard buffer.count > 0 else { return ReadResult(count: 0, lost: 0, overrun: false) }
        // `configuration` is used in place, not copied to a local: it holds the chip (a name and
        // its driver), and copying that each call cost ~10 instructions a sample at 3200 Hz.
        var lost = 0
        var overran = false

        if pendingFrames == 0 {
            // 1. Wait for the interrupt, or until the FIFO should hold a watermark's worth.
            let batchNs = UInt64(clock.periodNs * Double(configuration.watermark))
            var edge: UInt64? = nil
            var dataReadyEdge: UInt64? = nil
            let forced = mustPoll
            if mustPoll {
                // After an error, or a batch left above the watermark, the line may already be
                // high and will give no edge: read the status straight away.
                mustPoll = false
            } else if let line = interrupt, driver.table.watermarkInterrupt || !configuration.useFIFO {
                // About two batches, but well before the FIFO could fill.
                let fillNs = UInt64(clock.periodNs * Double(max(driver.table.fifoFrames, 4)) * 0.75)
                let timeout = Int64(max(min(batchNs * 2, fillNs), 5_000_000))
                do { edge = try line.waitForRisingEdge(timeoutNanoseconds: timeout) } catch {
                    mustPoll = true
                    throw .bus(error)
                }
            } else if let line = interrupt, configuration.useFIFO, clock.hasPhase {
                // No watermark interrupt (MPU-6050), but a data-ready pulse per sample: sleep
                // until just before the watermark-th sample, then take its edge as an exact time.
                let due =
                    clock.time(of: nextIndex &+ UInt64(configuration.watermark - 1))
                    &- UInt64(clock.periodNs / 2)
                let now = time.monotonicNanoseconds()
                if due > now { time.sleep(nanoseconds: due - now) }
                let timeout = Int64(max(clock.periodNs * 3, 5_000_000))
                do { dataReadyEdge = try line.waitForRisingEdge(timeoutNanoseconds: timeout) } catch {
                    mustPoll = true
                    throw .bus(error)
                }
            } else {
                // Poll at the FIFO's pace: when the watermark-th sample should be there.
                let due =
                    clock.hasPhase
                    ? clock.time(of: nextIndex &+ UInt64(configuration.watermark - 1))
                        &+ UInt64(clock.periodNs / 4)
                    : lastPollNs &+ batchNs
                let now = time.monotonicNanoseconds()
                if due > now { time.sleep(nanoseconds: due - now) }
            }
            if edge == nil && !forced && configuration.readOnlyOnEdges && interrupt != nil {
                return ReadResult(count: 0, lost: 0, overrun: false)
            }
            if !configuration.useFIFO, let e = edge, e <= lastReadStartNs {
                // A late edge for a sample already read: reading now would deliver it twice.
                return ReadResult(count: 0, lost: 0, overrun: false)
            }
            // 2. Read the status/source register: acknowledges the interrupt.
            let readStartNs = time.monotonicNanoseconds()
            let status: ChipStatus
            do { status = try driver.status(bus, configuration) } catch {
                mustPoll = true
                throw .bus(error)
            }
            let statusNs = time.monotonicNanoseconds()
            lastPollNs = statusNs

            if status.overrun && configuration.useFIFO && driver.table.overrunKeepsNewest && clock.hasPhase
                && status.frames > 0
            {
                // 3a. Overrun in stream mode: the FIFO holds the newest `frames` samples, in
                // order; only the ones before them were overwritten. Count those (from the sample
                // clock) and read the rest instead of flushing them.
                let newest = clock.newestIndex(at: statusNs)
                let firstKept = newest &- UInt64(status.frames - 1)
                let gap = Int(Int64(bitPattern: firstKept &- nextIndex))
                if gap > 0 {
                    lost = gap
                    nextIndex = firstKept
                    samplesLost &+= UInt64(gap)
                }
                overruns += 1
                overran = true
                edge = nil  // the edge was the watermark, long before these samples
                dataReadyEdge = nil
            } else if status.overrun && configuration.useFIFO {
                // 3b. Overrun: flush, and count everything produced since the last delivered sample.
                do { try driver.flushFIFO(bus, configuration) } catch {
                    mustPoll = true
                    throw .bus(error)
                }
                let flushedNs = time.monotonicNanoseconds()
                let newest =
                    clock.hasPhase ? clock.newestIndex(at: flushedNs) : nextIndex &+ UInt64(status.frames)
                let n = max(Int(Int64(bitPattern: newest &- nextIndex)) + 1, status.frames)
                lost = n
                nextIndex &+= UInt64(n)
                overruns += 1
                samplesLost &+= UInt64(n)
                if driver.table.flushRestartsSampling { clock.resetPhase() }
                lastProgressNs = flushedNs
                return ReadResult(count: 0, lost: lost, overrun: true)
            }
            // An edge in bypass mode means data ready, whatever a passive register file says.
            let frames = !configuration.useFIFO && edge != nil ? max(status.frames, 1) : status.frames
            if frames == 0 {
                if edge == nil, statusNs &- lastProgressNs > stallLimitNs {
                    throw .stalled(nanoseconds: statusNs &- lastProgressNs)
                }
                return ReadResult(count: 0, lost: 0, overrun: false)
            }
            lastReadStartNs = readStartNs
            if !configuration.useFIFO {
                // Bypass: the sample in the data registers is the newest. Count data-ready
                // periods we slept through as lost.
                let t = edge ?? statusNs
                // (Trusting the line, one edge is one sample: nothing to count.)
                if clock.hasPhase && !configuration.readOnlyOnEdges {
                    let newest = clock.newestIndex(at: t)
                    let gap = Int(Int64(bitPattern: newest &- nextIndex))
                    if gap > 0 {
                        lost = gap
                        nextIndex &+= UInt64(gap)
                        samplesLost &+= UInt64(gap)
                    }
                }
                clock.anchor(index: nextIndex, timeNs: t, exact: edge != nil)
            } else if let e = edge, frames >= configuration.watermark {
                clock.anchor(index: nextIndex &+ UInt64(configuration.watermark - 1), timeNs: e, exact: true)
            } else if let e = dataReadyEdge, statusNs &- e < UInt64(clock.periodNs / 2) {
                // The newest sample is the one whose data-ready pulse we just saw.
                clock.anchor(index: nextIndex &+ UInt64(frames - 1), timeNs: e, exact: true)
            } else {
                clock.anchor(index: nextIndex &+ UInt64(frames - 1), timeNs: statusNs, exact: false)
            }
            pendingFrames = frames
        }

        // 4. Burst-read whole frames and decode them.
        var n = min(pendingFrames, buffer.count, driver.table.fifoFrames > 0 ? driver.table.fifoFrames : 1)
        var done = 0
        do { try driver.readFrames(bus, configuration, count: n, into: raw, done: &done) } catch {
            // Deliver what arrived before the failure; the rest stays pending for the next call.
            guard done > 0 else {
                mustPoll = true
                throw .bus(error)
            }
            n = done
        }
        let realOffset = time.realtimeNanoseconds() &- Int64(bitPattern: time.monotonicNanoseconds())
        let fb = driver.table.frameBytes
        let scale = configuration.gPerLSB
        var out = 0
        for i in 0..<n {
            let (x, y, z) = driver.decode(raw, at: i * fb, configuration)
            // Never backwards, even when a new anchor moves the phase back a little.
            let t = max(clock.time(of: nextIndex), lastTimestampNs &+ 1)
            lastTimestampNs = t
            buffer[out] = TimedSample(
                monotonicNs: t, realtimeNs: Int64(bitPattern: t) &+ realOffset,
                acceleration: Vector3(x: Double(x) * scale, y: Double(y) * scale, z: Double(z) * scale))
            out += 1
            nextIndex &+= 1
        }
        pendingFrames -= n
        samplesDelivered &+= UInt64(out)
        let endNs = time.monotonicNanoseconds()
        lastProgressNs = endNs
        // A long read (high rate, slow bus) lets the FIFO refill past the watermark while we
        // read: the line then stays high and gives no edge, so check the status straight away.
        if pendingFrames == 0 && configuration.useFIFO
            && Double(endNs &- lastPollNs) >= clock.periodNs * Double(configuration.watermark) / 2
        {
            mustPoll = true
        }
        return ReadResult(count: out, lost: lost, overrun: overran)
    }

    /// How long without a sample counts as stalled: 20 batches, at least 250 ms.
    private var stallLimitNs: UInt64 {
        max(UInt64(clock.periodNs * Double(configuration.watermark) * 20), 250_000_000)
    }
}
