#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension BusError.Kind {
    /// The kind of bus error an errno from the Linux I2C stack means.
    ///
    /// The meanings follow the kernel's `Documentation/i2c/fault-codes.rst`: ENXIO is the address
    /// phase not acknowledged, EIO/EREMOTEIO a failed transfer, ETIMEDOUT a stuck bus, EAGAIN lost
    /// arbitration, ENODEV/ESHUTDOWN an adapter or device that went away, EOPNOTSUPP (and ENOTTY on
    /// a file that is not an i2c-dev node) a transfer the adapter cannot do.
    public init(errno code: Int32) {
        switch code {
        case ENXIO: self = .addressNotAcknowledged
        case EIO, EREMOTEIO, EPROTO, EBADMSG: self = .busError
        case ETIMEDOUT: self = .timeout
        case EAGAIN: self = .arbitrationLost
        case ENODEV, ESHUTDOWN: self = .deviceGone
        case EACCES, EPERM: self = .permissionDenied
        case ENOENT: self = .noSuchBus
        case EOPNOTSUPP, ENOSYS, ENOTTY, EPROTONOSUPPORT, EMSGSIZE: self = .unsupported
        default: self = .other
        }
    }
}

extension BusError {
    /// A bus error from an errno, keeping the errno, with a hint for the cases a user can fix.
    ///
    /// - Parameters:
    ///   - code: the errno (positive).
    ///   - operation: what was being done, e.g. `read 0x00 on /dev/i2c-1@0x53`.
    ///   - hint: overrides the default hint for this errno; pass `""` for none.
    public init(errno code: Int32, operation: String, hint: String? = nil) {
        let kind = Kind(errno: code)
        self.init(
            kind: kind, errno: code, operation: operation, hint: hint ?? Self.defaultHint(kind, errno: code))
    }

    /// What a user can usually do about a kind of error; `nil` when the driver's retry is the answer.
    static func defaultHint(_ kind: Kind, errno code: Int32) -> String? {
        switch kind {
        case .addressNotAcknowledged:
            return "No device answered at this address: check wiring, power and the address strap pin."
        case .timeout:
            return "The bus is stuck (a device may hold SDA low); power-cycling the sensor clears it."
        case .permissionDenied:
            return "Add the user to the `i2c` group (sudo usermod -aG i2c $USER, then log in again)."
        default:
            return nil
        }
    }
}
