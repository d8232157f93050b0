import SensorBus

/// A typed GPIO error with a message that says what to do.
public struct GPIOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable, Equatable {
        /// No `gpiochip*` device exists (no GPIO controller, or a container without /dev access).
        case noChips = "no GPIO chips"
        /// A chip was named and no chip has that name, label or path.
        case chipNotFound = "GPIO chip not found"
        /// No chip has a line with that name (or the offset is out of range).
        case lineNotFound = "GPIO line not found"
        /// EACCES/EPERM on a `gpiochip` device.
        case permissionDenied = "permission denied"
        /// EBUSY: another process or a kernel driver holds the line.
        case lineBusy = "line busy"
        /// A line specification that cannot be parsed.
        case invalidSpec = "invalid line specification"
        /// Any other failure; see `errno`.
        case system = "GPIO error"
    }

    public var kind: Kind
    /// The errno, or 0.
    public var errno: Int32
    /// What happened and what to do, e.g. which lines exist or which group to join.
    public var message: String

    public init(kind: Kind, errno: Int32 = 0, message: String) {
        self.kind = kind
        self.errno = errno
        self.message = message
    }

    public var description: String {
        errno != 0 ? "\(kind.rawValue) (errno \(errno)): \(message)" : "\(kind.rawValue): \(message)"
    }

    /// The same failure as a ``BusError`` for the ``InterruptLine`` protocol.
    var busError: BusError {
        let busKind: BusError.Kind
        switch kind {
        case .permissionDenied: busKind = .permissionDenied
        case .noChips, .chipNotFound, .lineNotFound: busKind = .deviceGone
        case .lineBusy, .invalidSpec, .system: busKind = .other
        }
        return BusError(kind: busKind, errno: errno, operation: "GPIO", hint: message)
    }
}
