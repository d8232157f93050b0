import CGPIOD
public import SensorBus

#if canImport(Glibc)
    import Glibc
#endif

/// Which GPIO line to use: a line name searched across every chip (`GPIO17`), or a chip (by name,
/// label or path) plus a line name or offset (`gpiochip0:17`, `pinctrl-bcm2711:GPIO17`).
///
/// Never a hard-coded `gpiochip0` by default: on a Pi 5 or with kernel 6.6+ the header's GPIOs
/// are on a different chip number, but still called `GPIO17`.
public struct GPIOLineSpec: Sendable, Equatable, CustomStringConvertible {
    /// A chip name, label or device path; `nil` to search every chip by line name.
    public var chip: String?
    /// A line name, or a decimal offset when ``chip`` is set.
    public var line: String

    public init(chip: String? = nil, line: String) {
        self.chip = chip
        self.line = line
    }

    /// Parses `LINE` or `CHIP:LINE` (split at the last `:`).
    ///
    /// - Throws: ``GPIOError`` `.invalidSpec` for an empty part or a bare offset without a chip.
    public init(parsing text: String) throws(GPIOError) {
        let trimmed = text.trimmingWhitespace()
        var chip: String? = nil
        var line = trimmed
        if let colon = trimmed.lastIndex(of: ":") {
            chip = String(trimmed[..<colon])
            line = String(trimmed[trimmed.index(after: colon)...])
        }
        guard !line.isEmpty, chip.map({ !$0.isEmpty }) ?? true else {
            throw GPIOError(
                kind: .invalidSpec,
                message: "'\(text)': expected a line name such as GPIO17, or CHIP:LINE such as gpiochip0:17")
        }
        if chip == nil, line.allSatisfy(\.isASCIIDigit) {
            throw GPIOError(
                kind: .invalidSpec,
                message: "'\(text)': an offset needs its chip (e.g. gpiochip0:\(line)); or use the line "
                    + "name, e.g. GPIO\(line) on a Raspberry Pi")
        }
        self.init(chip: chip, line: line)
    }

    public var description: String { chip.map { "\($0):\(line)" } ?? line }
}

/// The data-ready (or FIFO-watermark) interrupt of a sensor on a GPIO, through libgpiod v1 or v2
/// (chosen when CGPIOD is compiled).
///
/// The line is requested as an input with rising-edge events under a consumer name (`gpioinfo`
/// shows it). Edges carry the kernel's `CLOCK_MONOTONIC` timestamp (kernel 5.7 or later for
/// libgpiod v1; v2 asks for the monotonic clock explicitly).
///
/// ## The timeout fallback contract
/// A line that is already high when it is requested produces no rising edge, and an edge can be
/// missed while the sensor is being reconfigured. So ``waitForRisingEdge(timeoutNanoseconds:)``
/// returning `nil` means "no edge came in time", never "no data": the caller then reads the chip's
/// FIFO level (or status) itself, as it would when polling, and services whatever is there. Reading
/// the FIFO below its watermark lets the interrupt drop so the next watermark gives a fresh edge.
/// Callers should drain the sensor right after requesting the line, and use a timeout of about
/// two FIFO periods (e.g. 2 × watermark / output rate).
///
/// One thread uses a line at a time. The wait and read paths do not allocate.
public final class GPIODataReadyLine: InterruptLine {
    /// Consumer name used when none is given.
    public static let defaultConsumer = "twitchd"
    /// Most edges read from the kernel per wake-up.
    public static let eventBatch = 16

    /// e.g. `gpiochip0:GPIO17`, or `gpiochip0:17` for an unnamed line.
    public let name: String
    /// The chip's kernel name, e.g. `gpiochip0`.
    public let chipName: String
    /// The chip's label, e.g. `pinctrl-bcm2711`.
    public let chipLabel: String
    /// The line's offset on its chip.
    public let offset: UInt32
    /// The line's name, or `nil` when the line is unnamed.
    public let lineName: String?
    /// Rising edges that arrived together with a later one and were folded into it by
    /// ``waitForRisingEdge(timeoutNanoseconds:)`` (a sign the reader fell behind).
    public private(set) var coalescedEdges: UInt64 = 0

    private var handle: OpaquePointer?
    private let timestamps: UnsafeMutablePointer<UInt64>

    /// Finds and requests a line.
    ///
    /// - Parameters:
    ///   - spec: the line; see ``GPIOLineSpec``.
    ///   - consumer: the name `gpioinfo` shows for the line's user.
    ///   - deviceDirectory: where the `gpiochip*` device files are (tests point this elsewhere).
    /// - Throws: ``GPIOError`` `.noChips`, `.chipNotFound`, `.lineNotFound` (listing what exists),
    ///   `.permissionDenied` (naming the `gpio` group), `.lineBusy`, `.system`.
    public init(
        _ spec: GPIOLineSpec, consumer: String = GPIODataReadyLine.defaultConsumer,
        deviceDirectory: String = "/dev"
    ) throws(GPIOError) {
        var out: OpaquePointer? = nil
        var err: Int32 = 0
        let status = twitchd_gpio_open(deviceDirectory, spec.chip, spec.line, consumer, &out, &err)
        guard status == TWITCHD_GPIO_OK, let line = out else {
            throw Self.openError(status, errno: err, spec: spec, deviceDirectory: deviceDirectory)
        }
        handle = line
        chipName = String(cString: twitchd_gpio_chip_name(line))
        chipLabel = String(cString: twitchd_gpio_chip_label(line))
        offset = UInt32(twitchd_gpio_line_offset(line))
        let lname = String(cString: twitchd_gpio_line_name(line))
        lineName = lname.isEmpty ? nil : lname
        name = "\(chipName):\(lineName ?? String(offset))"
        timestamps = .allocate(capacity: Self.eventBatch)
        timestamps.initialize(repeating: 0, count: Self.eventBatch)
    }

    /// Parses `spec` (see ``GPIOLineSpec/init(parsing:)``) and requests the line.
    public convenience init(
        parsing spec: String, consumer: String = GPIODataReadyLine.defaultConsumer,
        deviceDirectory: String = "/dev"
    ) throws(GPIOError) {
        try self.init(GPIOLineSpec(parsing: spec), consumer: consumer, deviceDirectory: deviceDirectory)
    }

    deinit {
        close()
        timestamps.deinitialize(count: Self.eventBatch)
        timestamps.deallocate()
    }

    /// Releases the line. Later waits throw.
    public func close() {
        if let h = handle { twitchd_gpio_close(h) }
        handle = nil
    }

    /// Waits for the next rising edge (see the timeout fallback contract above).
    ///
    /// When several edges are pending, returns the newest one's time and counts the others in
    /// ``coalescedEdges``. Falling edges are ignored. A wait interrupted by a signal returns `nil`.
    ///
    /// - Returns: the edge's `CLOCK_MONOTONIC` time in ns, or `nil` on timeout.
    public func waitForRisingEdge(timeoutNanoseconds: Int64) throws(BusError) -> UInt64? {
        do {
            let n = try waitForRisingEdges(
                timeoutNanoseconds: timeoutNanoseconds,
                into: UnsafeMutableBufferPointer(start: timestamps, count: Self.eventBatch))
            guard n > 0 else { return nil }
            coalescedEdges &+= UInt64(n - 1)
            return timestamps[n - 1]
        } catch {
            throw error.busError
        }
    }

    /// Waits up to `timeoutNanoseconds` (negative: forever) and stores the times of all pending
    /// rising edges, oldest first, up to `buffer.count`.
    ///
    /// - Returns: how many were stored; 0 on timeout or when a signal interrupted the wait.
    public func waitForRisingEdges(
        timeoutNanoseconds: Int64, into buffer: UnsafeMutableBufferPointer<UInt64>
    ) throws(GPIOError) -> Int {
        guard let h = handle else {
            throw GPIOError(kind: .system, errno: EBADF, message: "\(name) was closed")
        }
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        let deadline = timeoutNanoseconds < 0 ? Int64.max : Self.now() &+ timeoutNanoseconds
        var remaining = timeoutNanoseconds
        while true {
            let rc = twitchd_gpio_wait(h, remaining)
            if rc == 0 || rc == -EINTR { return 0 }
            if rc < 0 { throw Self.systemError(-rc, "wait for an edge on \(name)") }
            let n = twitchd_gpio_read_rising(h, base, Int32(min(buffer.count, Int(Int32.max))))
            if n < 0 { throw Self.systemError(-n, "read edge events on \(name)") }
            if n > 0 { return Int(n) }
            // Only falling edges were pending: keep waiting for what is left of the timeout.
            if timeoutNanoseconds >= 0 {
                remaining = deadline - Self.now()
                if remaining <= 0 { return 0 }
            }
        }
    }

    /// The line's current level (true = high), for the timeout fallback and diagnostics.
    public func currentValue() throws(GPIOError) -> Bool {
        guard let h = handle else {
            throw GPIOError(kind: .system, errno: EBADF, message: "\(name) was closed")
        }
        let v = twitchd_gpio_get_value(h)
        if v < 0 { throw Self.systemError(-v, "read the value of \(name)") }
        return v == 1
    }

    /// A descriptor that becomes readable when an edge is pending (for an event loop), or -1 when
    /// closed. Owned by the line: do not close it.
    public var fileDescriptor: Int32 {
        handle.map { twitchd_gpio_fd($0) } ?? -1
    }

    private static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    static func systemError(_ code: Int32, _ what: String) -> GPIOError {
        let text = String(cString: strerror(code))
        switch code {
        case EACCES, EPERM:
            return GPIOError(
                kind: .permissionDenied, errno: code, message: "\(what): \(text). \(GPIO.groupHint)")
        case EBUSY:
            return GPIOError(
                kind: .lineBusy, errno: code,
                message: "\(what): the line is in use by another process or a kernel driver (see `gpioinfo`)."
            )
        default:
            return GPIOError(kind: .system, errno: code, message: "\(what): \(text)")
        }
    }

    static func openError(
        _ status: twitchd_gpio_status, errno code: Int32, spec: GPIOLineSpec, deviceDirectory: String
    ) -> GPIOError {
        switch status {
        case TWITCHD_GPIO_NO_CHIPS:
            return GPIOError(
                kind: .noChips,
                message: "no GPIO chip in \(deviceDirectory) (no gpiochip* device). A Raspberry Pi always "
                    + "has one; in a container or VM pass /dev/gpiochip* through. Without a data-ready line "
                    + "twitchd can poll the sensor's FIFO instead.")
        case TWITCHD_GPIO_CHIP_NOT_FOUND:
            return GPIOError(
                kind: .chipNotFound,
                message: "no chip named or labelled '\(spec.chip ?? "")'. "
                    + GPIO.describeChipsForMessage(deviceDirectory: deviceDirectory))
        case TWITCHD_GPIO_LINE_NOT_FOUND:
            let place = spec.chip.map { "on chip '\($0)'" } ?? "on any chip"
            return GPIOError(
                kind: .lineNotFound,
                message: "no line '\(spec.line)' \(place). "
                    + GPIO.describeChipsForMessage(deviceDirectory: deviceDirectory))
        default:
            var e = systemError(code, "open the GPIO chip(s) and request \(spec) for rising-edge events")
            if code == EBUSY {
                e.message =
                    "\(spec) is already requested by another process or claimed by a kernel driver "
                    + "(`gpioinfo` shows its consumer); free it or choose another pin."
            }
            return e
        }
    }
}

/// Library facts and chip listing.
public enum GPIO {
    /// 1 or 2: the libgpiod API this build was compiled against.
    public static var libgpiodAPIVersion: Int { Int(twitchd_gpio_api_version()) }
    /// The linked libgpiod's version string, e.g. `1.6.3`.
    public static var libgpiodVersion: String { String(cString: twitchd_gpio_library_version()) }

    static let groupHint =
        "Add the user to the `gpio` group (sudo usermod -aG gpio $USER, then log in again), or run the "
        + "service with SupplementaryGroups=gpio."

    /// The GPIO chips in `deviceDirectory`, one per line: name, label, number of lines and the named
    /// lines (`gpiochip0 [pinctrl-bcm2711] 58 lines: GPIO0 GPIO1 ...`), or why a chip cannot be opened.
    /// Empty when there are none.
    public static func describeChips(deviceDirectory: String = "/dev") -> String {
        var buffer = [CChar](repeating: 0, count: 32 * 1024)
        _ = twitchd_gpio_describe(deviceDirectory, &buffer, buffer.count)
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func describeChipsForMessage(deviceDirectory: String) -> String {
        var text = describeChips(deviceDirectory: deviceDirectory)
        if text.isEmpty { return "No chips could be listed." }
        if text.utf8.count > 2000 { text = String(text.prefix(2000)) + " ..." }
        while text.last == "\n" { text.removeLast() }
        return "Chips and their named lines:\n" + text
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
