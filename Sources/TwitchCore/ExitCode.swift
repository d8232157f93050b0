/// Process exit statuses from BSD `sysexits.h`, which daemons and their supervisors understand.
public enum SysExit: Int32, Sendable {
    case ok = 0
    /// The command was used incorrectly (bad arguments).
    case usage = 64
    /// The input data was incorrect (corrupt trace, bad value).
    case dataErr = 65
    /// An input file did not exist or was not readable.
    case noInput = 66
    /// A service is unavailable (sensor missing, bus device missing).
    case unavailable = 69
    /// An internal software error.
    case software = 70
    /// An operating-system error (cannot fork, cannot create a socket).
    case osErr = 71
    /// An output file cannot be created.
    case cantCreate = 73
    /// An error while doing I/O on a device or file.
    case ioErr = 74
    /// Temporary failure; the user is invited to retry.
    case tempFail = 75
    /// Permission denied (e.g. not in the `i2c` group).
    case noPerm = 77
    /// Something was found in an unconfigured or misconfigured state.
    case config = 78
}
