import ArgumentParser
import Detector
import Journal
import Report
import Traces
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// `twitchd fill-journal` (hidden; for the report benchmark and screenshots): a year of one
/// simulated wearer, written into a journal namespace as the daemon would write it.
///
/// The model comes from the simulator and the detector, not from hand-made numbers: a stretch of
/// simulated limb (twitches, tremor, movement, heartbeat on a simulated ADXL355) is run through
/// the real detector; the twitches it finds give the amplitudes, frequencies and durations, and
/// its rest/active/not-worn timeline gives the exposure of each 10-minute period. The year then
/// repeats that model over a wearing schedule (nights and evenings), with a slow seasonal drift,
/// weekends, and caffeine and exercise notes that raise the rate for a few hours, scaled to the
/// requested number of twitches. Every entry is marked TWITCH_SIMULATED=1.
struct FillJournal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-journal",
        abstract: "Fill a journal namespace with a simulated year of one wearer (benchmarks).",
        discussion: """
            Example (as root; journald's rate limit off for the namespace):
              printf '[Journal]\\nRateLimitIntervalSec=0\\n' > /etc/systemd/journald@year.conf
              /lib/systemd/systemd-journald year &
              twitchd fill-journal --namespace year --days 365 --twitches 500000
              time twitchd report --namespace year --simulated --since -365d
            """,
        shouldDisplay: false)

    @Option(name: .long, help: "Journal namespace to fill.")
    var namespace: String?

    @Option(name: .long, help: "journald socket to write to.")
    var journalSocket: String?

    @Option(name: .long, help: "Days, ending now.")
    var days: Int = 365

    @Option(name: .long, help: "About how many twitches in all.")
    var twitches: Int = 500_000

    @Option(name: .long, help: "TWITCH_WEARER of every entry.")
    var wearer: String = "sim-wearer"

    @Option(name: .long, help: "Seed.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Minutes of simulated limb run through the detector for the model.")
    var calibrationMinutes: Int = 20

    func run() throws {
        guard (1...3660).contains(days), (0...50_000_000).contains(twitches),
            (1...600).contains(calibrationMinutes)
        else {
            throw ValidationError("--days 1...3660, --twitches 0...50000000, --calibration-minutes 1...600")
        }
        let socket = try journalSocketPath(namespace: namespace, socket: journalSocket)
        guard JournalWriter.socketExists(at: socket) else {
            throw ValidationError("no journald listens on \(socket)")
        }
        let model = try Model(minutes: calibrationMinutes, seed: seed)
        writeStandardError(
            "model: \(model.twitches.count) detected twitches in \(fixed(model.restFraction * 100, 0)) % rest over \(calibrationMinutes) min of simulated limb\n"
        )
        let writer = try JournalWriter(
            .init(socketPath: socket, spoolDirectory: nil, spoolLimitBytes: 512 << 20, retryInterval: nil))
        defer { writer.close() }
        var rng = SeededRandom(seed: seed &+ 17)
        let now = Int64(time(nil))
        let cal = ReportCalendar(utc: false)
        let firstDay = cal.addDays(cal.startOfDay(now), -days)
        // Worn 00:00-07:30 (night, nearly all rest) and 17:00-24:00 (evening, the model's mix).
        let wornHours: [(Double, Double, Bool)] = [(0, 7.5, true), (17, 24, false)]
        // Expected rest hours in the year, to scale the rate to the requested count.
        let restPerDay = 7.5 * 0.97 + 7 * model.restFraction
        let baseRate = Double(twitches) / (restPerDay * Double(days) * 1.08)
        var seq: UInt64 = 0
        var sent = 0
        var written = 0
        for d in 0..<days {
            let dayStart = cal.addDays(firstDay, d)
            if dayStart >= now { break }
            let weekday = Int(cal.weekday(dayStart))
            // Seasons: +-25 % over the year; weekends 15 % calmer.
            let season = 1 + 0.25 * sin(2 * Double.pi * Double(d) / 365)
            let weekend = weekday == 0 || weekday == 6 ? 0.85 : 1
            var boosts: [(Int64, Int64, Double)] = []
            if rng.unit() < 0.55 {
                let t = dayStart + 6 * 3600 + Int64(rng.unit() * 3600)
                send(writer, &sent, note("caffeine", at: t))
                boosts.append((t, t + 3 * 3600, 1.6))
            }
            if rng.unit() < 0.3 {
                let t = dayStart + 17 * 3600 + Int64(rng.unit() * 1800)
                send(writer, &sent, note("exercise", at: t))
                boosts.append((t, t + 3 * 3600, 1.3))
            }
            for (from, to, night) in wornHours {
                var start = dayStart + Int64(from * 3600)
                let end = dayStart + Int64(to * 3600)
                while start < end, start < now {
                    let periodEnd = min(end, start + 600)
                    let length = Double(periodEnd - start)
                    var exposure = night ? model.nightExposure(length, &rng) : model.exposure(length, &rng)
                    var lost: UInt64 = 0
                    if rng.unit() < 0.01 {
                        let hole = min(exposure.rest, rng.unit() * 120)
                        exposure.rest -= hole
                        exposure.gap += hole
                        lost = UInt64(hole * 800)
                    }
                    var rate = baseRate * season * weekend
                    for b in boosts where start >= b.0 && start < b.1 { rate *= b.2 }
                    let n = poisson(rate * exposure.rest / 3600, &rng)
                    for _ in 0..<n {
                        let t = Double(start) + rng.unit() * length
                        var event = model.twitches[Int(rng.next() % UInt64(model.twitches.count))]
                        event.location = "left-calf"
                        seq += 1
                        var e = JournalEntry.twitch(
                            event, at: EventTimestamp(realtimeUsec: UInt64(t * 1e6), monotonicUsec: 0),
                            sensor: "sim:adxl355@auto", sequence: seq)
                        mark(&e)
                        send(writer, &sent, e)
                        written += 1
                    }
                    var e = JournalEntry.exposure(
                        exposure, startRealtimeUsec: UInt64(start) * 1_000_000,
                        endRealtimeUsec: UInt64(periodEnd) * 1_000_000, samplesLost: lost,
                        location: "left-calf",
                        sensor: "sim:adxl355@auto")
                    mark(&e)
                    send(writer, &sent, e)
                    start = periodEnd
                }
            }
            if d % 30 == 0 { writeStandardError("day \(d)/\(days): \(written) twitches, \(sent) entries\n") }
        }
        while writer.deliverSpooled() > 0 { usleep(10_000) }
        writeStandardError("wrote \(written) twitches in \(sent) entries to \(socket)\n")
    }

    func mark(_ e: inout JournalEntry) {
        try? e.add("TWITCH_SIMULATED", "1")
        try? e.add("TWITCH_WEARER", wearer)
    }

    func note(_ kind: String, at t: Int64) -> JournalEntry {
        var e =
            (try? JournalEntry.note(
                kind: kind, text: kind, atRealtimeUsec: UInt64(t) * 1_000_000, location: nil))
            ?? JournalEntry(message: "note")
        try? e.add("TWITCH_WEARER", wearer)
        return e
    }

    /// Sends, waiting while journald catches up (never dropping).
    func send(_ writer: JournalWriter, _ sent: inout Int, _ e: JournalEntry) {
        var outcome = writer.send(e)
        while outcome == .spooled && writer.deliverSpooled() > 10_000 {
            usleep(2000)
            outcome = .sent
        }
        sent += 1
    }
}

/// What the simulator and the detector say a limb does.
struct Model {
    var twitches: [TwitchEvent] = []
    /// Per second of the calibration run: 0 rest, 1 active, 2 not worn.
    var states: [UInt8] = []
    var restFraction: Double

    init(minutes: Int, seed: UInt64) throws {
        var c = SimulationConfiguration()
        c.seed = seed
        c.rate = 200
        c.sensor = .adxl355
        c.duration = Double(minutes) * 60
        c.twitchesPerMinute = 6
        var sim = try TraceSimulator(configuration: c)
        var detector = try TwitchDetector(
            configuration: DetectorConfiguration(sampleRate: sim.trueRate, location: "left-calf"))
        var changes: [(Double, LimbState)] = [(0, .rest)]
        var found: [TwitchEvent] = []
        func handle(_ o: DetectorOutput) {
            switch o {
            case .twitch(let t): found.append(t)
            case .state(let s): changes.append((s.time, s.state))
            case .gap, .candidate: break  // the simulator has no holes; no explanations asked for
            }
        }
        while let s = sim.next() { detector.process(s, handle) }
        detector.finish(handle)
        let seconds = minutes * 60
        states = Array(repeating: 0, count: seconds)
        for (i, ch) in changes.enumerated() {
            let from = max(0, min(seconds, Int(ch.0)))
            let to = i + 1 < changes.count ? max(from, min(seconds, Int(changes[i + 1].0))) : seconds
            let v: UInt8 = ch.1 == .rest ? 0 : (ch.1 == .active ? 1 : 2)
            for k in from..<to { states[k] = v }
        }
        restFraction = Double(states.filter { $0 == 0 }.count) / Double(max(1, seconds))
        twitches =
            found.isEmpty
            ? [
                TwitchEvent(
                    onset: 0, durationMs: 80, peakMg: 3, axis: .z, frequencyHz: 12, snr: 5, confidence: 0.8,
                    location: "left-calf")
            ] : found
    }

    /// A period of `length` seconds taken from a random place of the calibration timeline.
    func exposure(_ length: Double, _ rng: inout SeededRandom) -> Exposure {
        let n = states.count
        let start = Int(rng.next() % UInt64(n))
        let count = min(n, max(1, Int(length)))
        var tally = [0.0, 0.0, 0.0]
        for k in 0..<count { tally[Int(states[(start + k) % n])] += 1 }
        let scale = length / Double(count)
        return Exposure(rest: tally[0] * scale, active: tally[1] * scale, notWorn: tally[2] * scale)
    }

    /// A night period: asleep, nearly all rest, a turn now and then.
    func nightExposure(_ length: Double, _ rng: inout SeededRandom) -> Exposure {
        let turn = rng.unit() < 0.3 ? min(length, 10 + rng.unit() * 40) : 0
        return Exposure(rest: length - turn, active: turn)
    }
}

func poisson(_ mean: Double, _ rng: inout SeededRandom) -> Int {
    guard mean > 0, mean.isFinite else { return 0 }
    if mean > 50 {
        // Normal approximation (Box-Muller).
        let u1 = max(1e-12, rng.unit())
        let u2 = rng.unit()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        let v = (mean + z * mean.squareRoot()).rounded()
        return v > 0 && v < 1e9 ? Int(v) : 0
    }
    let limit = exp(-mean)
    var k = 0
    var p = rng.unit()
    while p > limit {
        k += 1
        p *= rng.unit()
    }
    return k
}
