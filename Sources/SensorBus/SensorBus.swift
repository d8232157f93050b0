/// Register access to one device on a bus: the seam between chip drivers and the hardware.
///
/// A driver knows registers, never files: it is handed a `SensorBus` for its device's address and
/// reads and writes registers through it. On a Raspberry Pi that is ``LinuxI2CBus`` (the kernel's
/// i2c-dev interface and libi2c); in tests and demos it is a register-level simulated chip.
///
/// Implementations are used from one thread at a time (the acquisition thread that owns them).
public protocol SensorBus: AnyObject {
    /// The 7-bit device address.
    var address: UInt8 { get }
    /// The longest burst one ``readRegisters(_:into:)`` call moves in a single bus transaction
    /// (32 for SMBus I2C-block reads). Drivers split FIFO bursts into chunks no longer than this,
    /// at frame boundaries.
    var maxBurstLength: Int { get }
    /// A short human-readable name, e.g. `/dev/i2c-1@0x53` or `sim:adxl345@0x53`.
    var name: String { get }

    /// Reads one register.
    func readRegister(_ register: UInt8) throws(BusError) -> UInt8
    /// Writes one register.
    func writeRegister(_ register: UInt8, value: UInt8) throws(BusError)
    /// Reads `buffer.count` (at most ``maxBurstLength``) bytes in one transaction starting at
    /// `register`. What the chip does with consecutive bytes (auto-increment, or repeated reads of a
    /// FIFO register) is the chip's business.
    func readRegisters(_ register: UInt8, into buffer: UnsafeMutableRawBufferPointer) throws(BusError)
}

/// Opens devices on one bus (an I2C adapter such as `/dev/i2c-1`, or a simulated bus).
public protocol BusAdapter: AnyObject {
    /// e.g. `/dev/i2c-1` or `sim:adxl345`.
    var name: String { get }
    /// A bus handle for the device at `address`. Does not touch the device.
    func device(at address: UInt8) throws(BusError) -> any SensorBus
}

/// A typed bus error that keeps the errno and what it means on Linux I2C.
public struct BusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as far as a driver needs to know to decide between retry and give up.
    public enum Kind: String, Sendable, Equatable {
        /// ENXIO: nothing acknowledged the address (no chip there, or unplugged).
        case addressNotAcknowledged = "address not acknowledged"
        /// EIO / EREMOTEIO: the transfer failed on the wire.
        case busError = "bus error"
        /// ETIMEDOUT: the bus is stuck (a device holds SDA low).
        case timeout = "bus timeout"
        /// EAGAIN: another master won arbitration.
        case arbitrationLost = "arbitration lost"
        /// ENODEV: the adapter or device went away.
        case deviceGone = "device gone"
        /// EACCES / EPERM: no permission on the bus device.
        case permissionDenied = "permission denied"
        /// ENOENT: no such bus device file.
        case noSuchBus = "no such bus"
        /// EOPNOTSUPP and friends: the adapter cannot do this kind of transfer.
        case unsupported = "unsupported by adapter"
        /// A transfer returned fewer bytes than asked for.
        case shortTransfer = "short transfer"
        /// Anything else.
        case other = "I/O error"
    }

    public var kind: Kind
    /// The errno that came back, or 0 when the error did not come from the kernel.
    public var errno: Int32
    /// What was being done, e.g. `read 0x00` or `open /dev/i2c-1`.
    public var operation: String

    /// What the user can do about it, e.g. which group to join or which `config.txt` line enables
    /// the bus; `nil` when there is nothing useful to say.
    public var hint: String?

    public init(kind: Kind, errno: Int32 = 0, operation: String) {
        self.kind = kind
        self.errno = errno
        self.operation = operation
        self.hint = nil
    }

    /// An error with a hint for the user (shown after the error in ``description``).
    public init(kind: Kind, errno: Int32, operation: String, hint: String?) {
        self.kind = kind
        self.errno = errno
        self.operation = operation
        self.hint = hint
    }

    /// Whether trying again (after a backoff) can help.
    public var isTransient: Bool {
        switch kind {
        case .busError, .timeout, .arbitrationLost, .shortTransfer, .addressNotAcknowledged, .deviceGone:
            return true
        case .permissionDenied, .noSuchBus, .unsupported, .other:
            return false
        }
    }

    public var description: String {
        let base =
            errno != 0 ? "\(operation): \(kind.rawValue) (errno \(errno))" : "\(operation): \(kind.rawValue)"
        guard let hint, !hint.isEmpty else { return base }
        return "\(base). \(hint)"
    }
}

/// A data-ready (or FIFO-watermark) interrupt line: a GPIO through libgpiod on the Pi, or the
/// simulated chip's INT pin.
public protocol InterruptLine: AnyObject {
    /// A short human-readable name, e.g. `gpiochip0:GPIO17`.
    var name: String { get }
    /// Waits for a rising edge for at most `timeoutNanoseconds`.
    ///
    /// - Returns: the edge's `CLOCK_MONOTONIC` time in nanoseconds (the kernel's event timestamp),
    ///   or `nil` when the timeout passed with no edge. Callers must then poll the chip: a line that
    ///   was already high when requested never gives an edge.
    func waitForRisingEdge(timeoutNanoseconds: Int64) throws(BusError) -> UInt64?
}

/// Where time comes from for acquisition: the real clocks, or a simulation's virtual clock.
///
/// The detector never sees this; it only gets sample times.
public protocol TimeSource: AnyObject, Sendable {
    /// `CLOCK_MONOTONIC`, in nanoseconds.
    func monotonicNanoseconds() -> UInt64
    /// `CLOCK_REALTIME`, in nanoseconds since the Unix epoch.
    func realtimeNanoseconds() -> Int64
    /// Sleeps (or, on a virtual clock, advances time) for `nanoseconds`.
    func sleep(nanoseconds: UInt64)
}
