import Testing

@testable import SensorBus

/// A virtual clock that records sleeps.
final class VirtualTime: TimeSource, @unchecked Sendable {
    var now: UInt64 = 0
    var sleeps: [UInt64] = []
    func monotonicNanoseconds() -> UInt64 { now }
    func realtimeNanoseconds() -> Int64 { Int64(now) }
    func sleep(nanoseconds: UInt64) {
        sleeps.append(nanoseconds)
        now += nanoseconds
    }
}

@Suite("PollingInterruptLine")
struct PollingInterruptLineTests {
    @Test("never reports an edge; sleeps the period, or the timeout when shorter")
    func paces() throws {
        let clock = VirtualTime()
        let line = PollingInterruptLine(periodNanoseconds: 40_000_000, time: clock)
        let long = try line.waitForRisingEdge(timeoutNanoseconds: 100_000_000)
        let short = try line.waitForRisingEdge(timeoutNanoseconds: 10_000_000)
        let forever = try line.waitForRisingEdge(timeoutNanoseconds: -1)
        #expect(long == nil)
        #expect(short == nil)
        #expect(forever == nil)
        #expect(clock.sleeps == [40_000_000, 10_000_000, 40_000_000])
        #expect(clock.now == 90_000_000)
        #expect(line.name.contains("40.0 ms"))
    }
}
