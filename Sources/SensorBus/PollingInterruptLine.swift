/// An ``InterruptLine`` for a sensor without a wired interrupt: it never sees an edge, it only
/// paces the caller.
///
/// ``waitForRisingEdge(timeoutNanoseconds:)`` sleeps for the polling period (or the timeout, if
/// shorter) on the given ``TimeSource`` and returns `nil`, which by the ``InterruptLine`` contract
/// means "poll the chip". So one acquisition loop serves both cases: with a GPIO line it wakes on
/// the watermark edge, without one it reads the FIFO level every period.
public final class PollingInterruptLine: InterruptLine {
    /// How long one wait lasts, in nanoseconds (typically one FIFO watermark period).
    public let periodNanoseconds: UInt64
    public let name: String
    private let time: any TimeSource

    /// - Parameters:
    ///   - periodNanoseconds: the polling period, e.g. watermark / output rate.
    ///   - time: the real clock (``SystemTime``) or a simulation's virtual clock.
    public init(periodNanoseconds: UInt64, time: any TimeSource) {
        self.periodNanoseconds = max(1, periodNanoseconds)
        self.time = time
        self.name = "poll every \(Double(periodNanoseconds) / 1e6) ms"
    }

    public func waitForRisingEdge(timeoutNanoseconds: Int64) throws(BusError) -> UInt64? {
        let timeout = timeoutNanoseconds < 0 ? UInt64.max : UInt64(timeoutNanoseconds)
        time.sleep(nanoseconds: min(periodNanoseconds, timeout))
        return nil
    }
}
