import Testing

@testable import Daemon

/// The health rule behind the watchdog and the STATUS line, on given times.
@Suite struct HealthTests {
    let now: UInt64 = 50_000_000_000

    func status(samples: UInt64 = 0, heard: UInt64 = 0, lost: String? = nil) -> ChannelStatus {
        var s = ChannelStatus()
        s.lastSamplesNs = samples
        s.lastHeardNs = heard
        s.lostReason = lost
        return s
    }

    /// The supervisor reads `now` first, then the statuses and the detector's beat; the detector
    /// thread may store a later time in between. That time is fresh, not 2^64 ns old: read as
    /// a wrapped-around age, it made a streaming daemon report "acquisition stalled" and skip a
    /// watchdog ping (a TSan CI run caught the summary saying so).
    @Test func timesStoredAfterNowWasReadAreFresh() {
        let later = now + 1_000_000
        #expect(
            Daemon.healthy(
                [status(samples: later), status(heard: later, lost: "no answer at 0x1D")], createdNs: [1, 1],
                detectorBeat: later, now: now))
        #expect(Daemon.age(of: later, at: now) == 0)
        #expect(Daemon.age(of: now - 5, at: now) == 5)
    }

    @Test func aStreamingSensorAndARetryingLostOneAreHealthy() {
        let recent = now - 500_000_000
        #expect(
            Daemon.healthy(
                [status(samples: recent), status(heard: recent, lost: "gone")], createdNs: [1, 1],
                detectorBeat: recent, now: now))
    }

    @Test func silenceOfTwoSecondsIsNot() {
        let old = now - 2_000_000_000
        let recent = now - 100_000_000
        // The detector thread stopped.
        #expect(!Daemon.healthy([status(samples: recent)], createdNs: [1], detectorBeat: old, now: now))
        // The only sensor stopped delivering without being reported lost.
        #expect(!Daemon.healthy([status(samples: old)], createdNs: [1], detectorBeat: recent, now: now))
        // A lost sensor whose acquisition thread went quiet too.
        #expect(
            !Daemon.healthy(
                [status(samples: recent), status(heard: old, lost: "gone")], createdNs: [1, 1],
                detectorBeat: recent, now: now))
        // Nothing delivers: a lost sensor alone is not health.
        #expect(
            !Daemon.healthy(
                [status(heard: recent, lost: "gone")], createdNs: [1], detectorBeat: recent, now: now))
    }

    @Test func aNewSensorHasTwoSecondsToStart() {
        let recent = now - 100_000_000
        let sensors = [status(samples: recent), status()]
        #expect(Daemon.healthy(sensors, createdNs: [1, now - 1_000_000_000], detectorBeat: recent, now: now))
        #expect(
            !Daemon.healthy(sensors, createdNs: [1, now - 3_000_000_000], detectorBeat: recent, now: now))
        #expect(!Daemon.healthy([], createdNs: [], detectorBeat: recent, now: now))
    }
}
