// Journal entries for twitchd's events: twitches, limb state changes, sensor lost/back, overruns.
// The ids and fields are documented for users in docs/journal-fields.md; keep the two in step.

public import TwitchCore

/// The fixed `MESSAGE_ID`s of twitchd's entries (128-bit, 32 lowercase hex digits), so that
/// `journalctl MESSAGE_ID=...` selects one kind of entry. Never change a published id.
public enum JournalMessageID {
    /// One twitch (fasciculation) detected.
    public static let twitch = "e1a046b8355640d8bf66367ef4914329"
    /// The limb came to rest: twitches are counted from here on.
    public static let rest = "81cb1435654b4e22904b10124b35b362"
    /// The limb is moving: twitches are not counted until it rests again.
    public static let active = "1b316dbefedd451ab5bc803334ac993a"
    /// The sensor seems not to be worn (still for too long).
    public static let notWorn = "46b01b25823c40568e3f161e3f18bc69"
    /// A sensor stopped answering (bus error, unplugged).
    public static let sensorLost = "6ee155aba4c741f996b60dd06bb61a99"
    /// A lost sensor answers again.
    public static let sensorBack = "8007facec9164167844f2ea1ec0d8e55"
    /// Samples or events were dropped somewhere in the pipeline (a queue was full).
    public static let overrun = "d51674cf2ee743b290f156e8964292c8"
    /// Journal entries were dropped because journald was away and the spool was full.
    public static let spoolOverflow = "57d4b300d89c43568912a1578d0fa20b"
    /// The spool was damaged (bytes overwritten, a torn write): what could not be recovered.
    public static let spoolDamaged = "1f6017461817470db06433e64ef76146"
    /// How long one sensor was at rest, active, not worn or without samples over a period (the
    /// denominator of every rate; written every few minutes and when the daemon stops).
    public static let exposure = "07cc454edfa24dcead5a9b11faa154fb"
    /// A note from the wearer (`twitchd note`): caffeine, exercise, stress, free text...
    public static let note = "af031bbaa21147288fe49214982afefe"

    /// The id for a limb state.
    public static func limbState(_ state: LimbState) -> String {
        switch state {
        case .rest: return rest
        case .active: return active
        case .notWorn: return notWorn
        }
    }
}

/// A moment on both of the kernel's clocks, in microseconds, as journald records them.
public struct EventTimestamp: Sendable, Equatable {
    /// `CLOCK_REALTIME` microseconds since the Unix epoch.
    public var realtimeUsec: UInt64
    /// `CLOCK_MONOTONIC` microseconds since boot.
    public var monotonicUsec: UInt64

    /// A moment given on both clocks.
    public init(realtimeUsec: UInt64, monotonicUsec: UInt64) {
        self.realtimeUsec = realtimeUsec
        self.monotonicUsec = monotonicUsec
    }

    /// Now, on both clocks.
    public static func now() -> EventTimestamp {
        EventTimestamp(realtimeUsec: Clocks.realtimeUsec(), monotonicUsec: Clocks.monotonicUsec())
    }

    /// A past (or future) moment given in `CLOCK_MONOTONIC` seconds, e.g. a live event's
    /// ``TwitchCore/TwitchEvent/onset``; the wall-clock time is derived from the clocks' current
    /// offset.
    public static func monotonic(seconds: Double) -> EventTimestamp {
        let mono = seconds.isFinite && seconds > 0 ? UInt64(seconds * 1_000_000) : 0
        let nowMono = Clocks.monotonicUsec()
        let nowReal = Clocks.realtimeUsec()
        let real =
            mono <= nowMono
            ? nowReal &- min(nowReal, nowMono - mono)
            : nowReal &+ (mono - nowMono)
        return EventTimestamp(realtimeUsec: real, monotonicUsec: mono)
    }
}

extension JournalEntry {
    /// The entry for one twitch.
    ///
    /// `MESSAGE` reads like `twitch left-calf 12.4 mg 85 ms`; `PRIORITY=6`;
    /// `MESSAGE_ID=`\(JournalMessageID.twitch); and one `TWITCH_*` field per event attribute.
    /// - Parameters:
    ///   - event: the detected twitch (`location` becomes `TWITCH_LOCATION`).
    ///   - time: the onset on both clocks (see ``EventTimestamp/monotonic(seconds:)``).
    ///   - sensor: which sensor saw it, e.g. `i2c-1/0x53 adxl345` (`TWITCH_SENSOR`).
    ///   - sequence: the daemon's running event number (`TWITCH_SEQ`), to spot gaps.
    public static func twitch(
        _ event: TwitchEvent, at time: EventTimestamp, sensor: String, sequence: UInt64,
        identifier: String = "twitchd"
    ) -> JournalEntry {
        let location = event.location.isEmpty ? "unknown" : event.location
        let durationMs = event.durationMs.isFinite ? Int(event.durationMs.rounded()) : 0
        var e = JournalEntry(
            message: "twitch \(location) \(formatDecimal(event.peakMg, digits: 1)) mg \(durationMs) ms",
            priority: .info, identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.twitch)
        e.addUnchecked("TWITCH_ONSET_REALTIME_USEC", String(time.realtimeUsec))
        e.addUnchecked("TWITCH_ONSET_MONOTONIC_USEC", String(time.monotonicUsec))
        e.addUnchecked("TWITCH_DURATION_MS", formatDecimal(event.durationMs, digits: 1))
        e.addUnchecked("TWITCH_PEAK_MG", formatDecimal(event.peakMg, digits: 2))
        e.addUnchecked("TWITCH_AXIS", event.axis.rawValue)
        e.addUnchecked("TWITCH_FREQ_HZ", formatDecimal(event.frequencyHz, digits: 1))
        e.addUnchecked("TWITCH_SNR", formatDecimal(event.snr, digits: 1))
        e.addUnchecked("TWITCH_CONFIDENCE", formatDecimal(event.confidence, digits: 2))
        e.addUnchecked("TWITCH_LOCATION", location)
        e.addUnchecked("TWITCH_SENSOR", sensor)
        e.addUnchecked("TWITCH_SEQ", String(sequence))
        return e
    }

    /// The entry for a change of limb state (rest, active, not worn): its own `MESSAGE_ID` per
    /// state, `TWITCH_STATE`, `TWITCH_STATE_REALTIME_USEC`, `TWITCH_STATE_MONOTONIC_USEC`,
    /// `TWITCH_LOCATION`, `TWITCH_SENSOR`.
    public static func limbState(
        _ state: LimbState, at time: EventTimestamp, location: String, sensor: String,
        identifier: String = "twitchd"
    ) -> JournalEntry {
        let text: String
        switch state {
        case .rest: text = "at rest, counting twitches"
        case .active: text = "moving, not counting twitches"
        case .notWorn: text = "sensor seems not to be worn"
        }
        let loc = location.isEmpty ? "unknown" : location
        var e = JournalEntry(
            message: "\(loc): \(text)", priority: state == .notWorn ? .notice : .info, identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.limbState(state))
        e.addUnchecked("TWITCH_STATE", state.rawValue)
        e.addUnchecked("TWITCH_STATE_REALTIME_USEC", String(time.realtimeUsec))
        e.addUnchecked("TWITCH_STATE_MONOTONIC_USEC", String(time.monotonicUsec))
        e.addUnchecked("TWITCH_LOCATION", loc)
        e.addUnchecked("TWITCH_SENSOR", sensor)
        return e
    }

    /// The entry for a sensor that stopped answering (`PRIORITY=4`); `reason` (e.g. the errno
    /// text) goes to `TWITCH_REASON`.
    public static func sensorLost(
        location: String, sensor: String, reason: String, identifier: String = "twitchd"
    ) -> JournalEntry {
        let loc = location.isEmpty ? "unknown" : location
        var e = JournalEntry(
            message: "sensor lost: \(loc) (\(sensor)): \(reason)", priority: .warning, identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.sensorLost)
        e.addUnchecked("TWITCH_LOCATION", loc)
        e.addUnchecked("TWITCH_SENSOR", sensor)
        e.addUnchecked("TWITCH_REASON", reason)
        return e
    }

    /// The entry for a lost sensor that answers again (`PRIORITY=5`); `downtimeSeconds`, when
    /// known, goes to `TWITCH_DOWNTIME_S`.
    public static func sensorBack(
        location: String, sensor: String, downtimeSeconds: Double? = nil, identifier: String = "twitchd"
    ) -> JournalEntry {
        let loc = location.isEmpty ? "unknown" : location
        var text = "sensor back: \(loc) (\(sensor))"
        if let d = downtimeSeconds { text += " after \(formatDecimal(d, digits: 1)) s" }
        var e = JournalEntry(message: text, priority: .notice, identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.sensorBack)
        e.addUnchecked("TWITCH_LOCATION", loc)
        e.addUnchecked("TWITCH_SENSOR", sensor)
        if let d = downtimeSeconds { e.addUnchecked("TWITCH_DOWNTIME_S", formatDecimal(d, digits: 1)) }
        return e
    }

    /// The entry for items dropped because a queue was full (`PRIORITY=4`): `TWITCH_DROPPED`
    /// (how many since the last such entry) and `TWITCH_STAGE` (where, e.g. `acquisition`,
    /// `detector`, `journal`, `tail`).
    public static func overrun(
        location: String, sensor: String, stage: String, dropped: UInt64, identifier: String = "twitchd"
    ) -> JournalEntry {
        let loc = location.isEmpty ? "unknown" : location
        var e = JournalEntry(
            message: "overrun: \(dropped) dropped at \(stage) (\(loc), \(sensor))", priority: .warning,
            identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.overrun)
        e.addUnchecked("TWITCH_LOCATION", loc)
        e.addUnchecked("TWITCH_SENSOR", sensor)
        e.addUnchecked("TWITCH_STAGE", stage)
        e.addUnchecked("TWITCH_DROPPED", String(dropped))
        return e
    }

    /// The entry written, in place of what was lost, after entries were dropped because journald
    /// was away and the spool was full (`PRIORITY=4`).
    static func spoolOverflow(
        dropped: UInt64, firstRealtimeUsec: UInt64, lastRealtimeUsec: UInt64, identifier: String
    ) -> JournalEntry {
        var e = JournalEntry(
            message: "journal spool was full: \(dropped) entries lost while journald was unavailable",
            priority: .warning, identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.spoolOverflow)
        e.addUnchecked("TWITCH_DROPPED", String(dropped))
        e.addUnchecked("TWITCH_DROPPED_FIRST_REALTIME_USEC", String(firstRealtimeUsec))
        e.addUnchecked("TWITCH_DROPPED_LAST_REALTIME_USEC", String(lastRealtimeUsec))
        return e
    }

    /// The entry written after spool recovery skipped damaged bytes (`PRIORITY=4`): the entries
    /// stored there are lost; the intact ones around them are delivered as usual.
    static func spoolDamaged(_ damage: SpoolDamage, path: String, identifier: String) -> JournalEntry {
        var e = JournalEntry(
            message: "journal spool \(path) was damaged: \(damage.description)", priority: .warning,
            identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.spoolDamaged)
        e.addUnchecked("TWITCH_SPOOL_DAMAGED_BYTES", String(damage.bytes))
        e.addUnchecked("TWITCH_SPOOL_DAMAGED_REGIONS", String(damage.regions))
        e.addUnchecked("TWITCH_SPOOL_KEPT", String(damage.kept))
        e.addUnchecked("TWITCH_SPOOL_DAMAGED_OFFSET", String(damage.firstOffset))
        return e
    }
}

extension JournalEntry {
    /// The entry for one period of exposure of one sensor (`PRIORITY=7`, debug: it is
    /// bookkeeping, not news): `TWITCH_EXPOSURE_START_REALTIME_USEC`,
    /// `TWITCH_EXPOSURE_END_REALTIME_USEC` (the period, wall clock), `TWITCH_REST_S`,
    /// `TWITCH_ACTIVE_S`, `TWITCH_NOT_WORN_S`, `TWITCH_GAP_S` (seconds in each condition, 3
    /// decimals), `TWITCH_SAMPLES_LOST`, `TWITCH_LOCATION`, `TWITCH_SENSOR`.
    public static func exposure(
        _ exposure: Exposure, startRealtimeUsec: UInt64, endRealtimeUsec: UInt64, samplesLost: UInt64,
        location: String, sensor: String, identifier: String = "twitchd"
    ) -> JournalEntry {
        let loc = location.isEmpty ? "unknown" : location
        var e = JournalEntry(
            message:
                "exposure \(loc): \(formatDecimal(exposure.rest, digits: 0)) s at rest, "
                + "\(formatDecimal(exposure.active, digits: 0)) s active, "
                + "\(formatDecimal(exposure.notWorn, digits: 0)) s not worn, "
                + "\(formatDecimal(exposure.gap, digits: 0)) s without samples",
            priority: .debug, identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.exposure)
        e.addUnchecked("TWITCH_EXPOSURE_START_REALTIME_USEC", String(startRealtimeUsec))
        e.addUnchecked("TWITCH_EXPOSURE_END_REALTIME_USEC", String(endRealtimeUsec))
        e.addUnchecked("TWITCH_REST_S", formatDecimal(exposure.rest, digits: 3))
        e.addUnchecked("TWITCH_ACTIVE_S", formatDecimal(exposure.active, digits: 3))
        e.addUnchecked("TWITCH_NOT_WORN_S", formatDecimal(exposure.notWorn, digits: 3))
        e.addUnchecked("TWITCH_GAP_S", formatDecimal(exposure.gap, digits: 3))
        e.addUnchecked("TWITCH_SAMPLES_LOST", String(samplesLost))
        e.addUnchecked("TWITCH_LOCATION", loc)
        e.addUnchecked("TWITCH_SENSOR", sensor)
        return e
    }

    /// The entry for a note (`twitchd note`): `TWITCH_NOTE_KIND` (`caffeine`, `exercise`,
    /// `stress`, `alcohol`, `sleep`, or `text` for free text), `TWITCH_NOTE` (the text),
    /// `TWITCH_NOTE_REALTIME_USEC` (when it happened, which may be before the entry was written),
    /// and `TWITCH_LOCATION` when it concerns one limb.
    public static func note(
        kind: String, text: String, atRealtimeUsec: UInt64, location: String?, identifier: String = "twitchd"
    ) throws(JournalEntryError) -> JournalEntry {
        var e = JournalEntry(
            message: "note: \(text)" + (location.map { " (\($0))" } ?? ""), priority: .info,
            identifier: identifier)
        e.addUnchecked("MESSAGE_ID", JournalMessageID.note)
        e.addUnchecked("TWITCH_NOTE_KIND", kind)
        try e.add("TWITCH_NOTE", text)
        e.addUnchecked("TWITCH_NOTE_REALTIME_USEC", String(atRealtimeUsec))
        if let location { try e.add("TWITCH_LOCATION", location) }
        return e
    }
}

/// `x` with exactly `digits` decimals (rounded half away from zero), independent of locale.
/// Non-finite values print as `nan`, `inf`, `-inf`.
func formatDecimal(_ x: Double, digits: Int) -> String {
    guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
    var scale = 1.0
    for _ in 0..<max(0, digits) { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    guard scaled < 9.0e15 else { return "\(x)" }
    let units = UInt64(scaled)
    let unitScale = UInt64(scale)
    let whole = units / unitScale
    let sign = x < 0 && units != 0 ? "-" : ""
    guard digits > 0 else { return sign + String(whole) }
    var frac = String(units % unitScale)
    while frac.count < digits { frac = "0" + frac }
    return sign + String(whole) + "." + frac
}
