import Daemon
import Foundation
import Journal
import JournalOutput
import Testing
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// A still limb at 100 Hz on a virtual clock: 10 s of samples, nothing for 5 s (a hole the
/// acquisition could not fill: an unplugged sensor), 10 s more, then nothing.
final class GappySource: SampleSource {
    let name = "gappy"
    let sampleRate = 100.0
    var index = 0
    let startNs: UInt64 = 1_000_000_000_000
    let realStartNs: Int64 = 1_796_000_000_000_000_000

    func start() throws(SourceError) {}
    func standby() {}

    func read(into buffer: UnsafeMutableBufferPointer<AcquiredSample>) throws(SourceError) -> SourceRead {
        usleep(2000)
        guard index < 2000 else {
            usleep(20_000)
            return SourceRead(count: 0)
        }
        let n = min(50, buffer.count)
        for i in 0..<n {
            let k = index + i
            let t = UInt64(k) * 10_000_000 + (k >= 1000 ? 5_000_000_000 : 0)
            buffer[i] = AcquiredSample(
                monotonicNs: startNs + t, realtimeNs: realStartNs + Int64(t), x: 0, y: 0, z: 1)
        }
        index += n
        return SourceRead(count: n)
    }
}

@Suite(.serialized) struct ExposureEntryTests {
    func run(period: Duration) throws -> [DaemonEvent] {
        let dir = temporaryDirectory("exposure")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = simConfiguration(dir: dir, speed: 10)  // not the real clock: no wall-time gaps
        c.eventSocket = nil
        let collector = Collector()
        var o = testOptions(extra: [collector.sink])
        o.sourceFactory = { _ in GappySource() }
        o.exposurePeriod = period
        o.exposureToExtraSinks = true
        let daemon = Daemon(configuration: c, options: o)
        try daemon.start()
        // The source delivers its 25 s of sample time in about 1 s.
        usleep(1_500_000)
        daemon.stop()
        return collector.all
    }

    static func periods(_ events: [DaemonEvent]) -> [(DaemonEvent, DaemonEvent.ExposurePeriod)] {
        events.compactMap { e in
            if case .exposure(let p) = e.kind { return (e, p) }
            return nil
        }
    }

    @Test func periodsCoverTheSampledTimeOnceAndChargeTheHoleAsGap() throws {
        let all = Self.periods(try run(period: .seconds(4)))
        // 24.99 s of sample time in periods of 4 s, and a last one at stop.
        #expect(all.count >= 6)
        var total = Exposure()
        for (_, p) in all { total += p.exposure }
        #expect(abs(total.rest - 19.98) < 0.02, "rest \(total.rest)")
        #expect(abs(total.gap - 5.01) < 0.02, "gap \(total.gap)")
        #expect(total.active == 0 && total.notWorn == 0)
        // Each period begins where the one before ended, on the wall clock.
        for i in 1..<all.count {
            #expect(all[i].1.startRealtimeUsec == all[i - 1].0.realtimeUsec)
        }
        let start: Int64 = 1_796_000_000_000_000
        let end: Int64 = 1_796_000_024_990_000
        #expect(all.first?.1.startRealtimeUsec == start)
        #expect(all.last?.0.realtimeUsec == end)
        // Complete periods are exactly 4 s of sample time, unless a hole runs past the end.
        let complete = all.dropLast().filter { $0.1.exposure.gap == 0 }
        #expect(complete.count >= 4)
        #expect(complete.allSatisfy { abs($0.1.exposure.total - 4) < 1e-6 })
    }

    @Test func aLastPeriodIsWrittenAtStop() throws {
        let all = Self.periods(try run(period: .seconds(3600)))
        #expect(all.count == 1)
        #expect(abs((all.first?.1.exposure.total ?? 0) - 24.99) < 0.02)
    }

    @Test func journalEntryCarriesTheExposureFieldsAndTheSimulatedMark() throws {
        let event = DaemonEvent(
            seq: 7,
            kind: .exposure(
                .init(exposure: Exposure(rest: 590, active: 10), startRealtimeUsec: 1_000_000, samplesLost: 3)
            ),
            location: "left-calf", sensor: "sim:adxl355@auto", monotonicUsec: 5, realtimeUsec: 601_000_000,
            emittedMonotonicUsec: 5, simulated: true)
        let e = event.journalEntry
        #expect(e["MESSAGE_ID"] == JournalMessageID.exposure)
        #expect(e["TWITCH_EXPOSURE_START_REALTIME_USEC"] == "1000000")
        #expect(e["TWITCH_EXPOSURE_END_REALTIME_USEC"] == "601000000")
        #expect(e["TWITCH_REST_S"] == "590.000")
        #expect(e["TWITCH_ACTIVE_S"] == "10.000")
        #expect(e["TWITCH_SAMPLES_LOST"] == "3")
        #expect(e["TWITCH_SIMULATED"] == "1")
        #expect(e["TWITCH_SEQ"] == nil)
        var real = event
        real.simulated = false
        #expect(real.journalEntry["TWITCH_SIMULATED"] == nil)
    }

    @Test func simulatedSensorsMarkTheirTwitches() throws {
        let dir = temporaryDirectory("simmark")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = simConfiguration(dir: dir)
        c.eventSocket = nil
        let collector = Collector()
        let o = testOptions(extra: [collector.sink])
        let daemon = Daemon(configuration: c, options: o)
        try daemon.start()
        waitUntil(10) { collector.twitches.count >= 1 }
        daemon.stop()
        #expect(!collector.all.isEmpty)
        let marked = collector.all.allSatisfy { $0.simulated }
        #expect(marked)
        #expect(collector.twitches.first?.journalEntry["TWITCH_SIMULATED"] == "1")
    }

    @Test func wearerFromTheConfigurationGoesOnEveryEntry() throws {
        let text = "[daemon]\nwearer = \"p07\"\n[[sensor]]\nbus = \"sim:adxl355\"\nlocation = \"left-calf\"\n"
        let config = try ConfigLoader.parse(text, file: "w.toml")
        #expect(config.wearer == "p07")
        let bad = "[daemon]\nwearer = \"\"\n[[sensor]]\nbus = \"sim:adxl355\"\nlocation = \"left-calf\"\n"
        #expect(throws: ConfigErrors.self) { try ConfigLoader.parse(bad, file: "w.toml") }
        do {
            _ = try ConfigLoader.parse(bad, file: "w.toml")
        } catch {
            #expect(error.description.contains("w.toml:2: daemon.wearer"))
        }
    }
}
