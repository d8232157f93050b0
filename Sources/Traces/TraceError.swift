public import TwitchCore

/// Why a trace could not be read or written. Every error names the file and, when it is about
/// the content, the 1-based line.
public struct TraceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; decides the process exit status.
    public enum Kind: String, Sendable, Equatable {
        /// The file does not exist or cannot be opened for reading.
        case noInput
        /// The file holds no samples (no header, or a header and nothing after it).
        case empty
        /// The header does not name a time column and three axes.
        case unknownHeader
        /// A cell is not a number, or a row has too few cells.
        case badCell
        /// A cell is NaN or infinite.
        case nonFinite
        /// A timestamp is not after the one before it.
        case nonMonotonic
        /// The gzip stream ends before its end marker, or is corrupt.
        case truncated
        /// A line longer than the reader's buffer (not a trace file).
        case lineTooLong
        /// A metadata value that cannot be understood (e.g. a bad `start_time`).
        case badMetadata
        /// A read or write error from the operating system.
        case io
        /// The output file cannot be created.
        case cantCreate
    }

    /// What failed.
    public var kind: Kind
    /// The file, as the user named it.
    public var path: String
    /// 1-based line in the (decompressed) text, when the error is about a line.
    public var line: Int?
    /// What went wrong, for people.
    public var message: String

    /// An error about `path` (and `line`, when known).
    public init(_ kind: Kind, path: String, line: Int? = nil, _ message: String) {
        self.kind = kind
        self.path = path
        self.line = line
        self.message = message
    }

    /// `FILE:LINE: message`, the form compilers use, so editors can jump to it.
    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }

    /// The sysexits status for this error: 66 for a missing or unreadable file, 73 when an output
    /// cannot be created, 74 for I/O errors, 65 for anything wrong with the content.
    public var exitCode: SysExit {
        switch kind {
        case .noInput: return .noInput
        case .cantCreate: return .cantCreate
        case .io: return .ioErr
        default: return .dataErr
        }
    }
}
