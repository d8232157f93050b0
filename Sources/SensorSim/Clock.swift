public import SensorBus
import Synchronization

/// A virtual clock: time moves only when someone sleeps on it (or calls ``advance(by:)``), so a
/// simulated sensor runs as fast as the CPU allows and every run is reproducible.
public final class VirtualClock: TimeSource, Sendable {
    private let now: Mutex<UInt64>
    private let realtimeOffset: Int64

    /// Starts at `monotonicNs` (default 1000 s, like a machine that booted a while ago); the wall
    /// clock reads `realtimeNs` at that instant.
    public init(monotonicNs: UInt64 = 1_000_000_000_000, realtimeNs: Int64 = 1_780_000_000_000_000_000) {
        now = Mutex(monotonicNs)
        realtimeOffset = realtimeNs - Int64(bitPattern: monotonicNs)
    }

    public func monotonicNanoseconds() -> UInt64 {
        now.withLock { $0 }
    }

    public func realtimeNanoseconds() -> Int64 {
        Int64(bitPattern: monotonicNanoseconds()) &+ realtimeOffset
    }

    /// Advances the clock instead of sleeping.
    public func sleep(nanoseconds: UInt64) { advance(by: nanoseconds) }

    public func advance(by nanoseconds: UInt64) {
        now.withLock { $0 &+= nanoseconds }
    }

    /// Moves the clock forward to `t` (never backwards).
    public func advance(to t: UInt64) {
        now.withLock { if t > $0 { $0 = t } }
    }
}
