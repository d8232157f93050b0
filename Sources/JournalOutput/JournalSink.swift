public import Daemon
public import Journal
public import Logging
import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Writes events to journald through the Journal module's ``JournalWriter``: native protocol,
/// memfd fallback for large entries, and an ordered on-disk spool in the state directory while
/// journald is missing or restarting (delivered, in order, when it returns).
public final class JournalSink: EventSink {
    public let name = "journal"
    /// Exposure entries are bookkeeping for the journal and reports: this output takes them.
    public var takesExposure: Bool { true }
    public let writer: JournalWriter
    /// `TWITCH_WEARER` on every entry (the configuration's `wearer`), or nil.
    public let wearer: String?

    public init(writer: JournalWriter, wearer: String? = nil) {
        self.writer = writer
        self.wearer = wearer
    }

    public func deliver(_ event: DaemonEvent) {
        var entry = event.journalEntry
        if let wearer { try? entry.add("TWITCH_WEARER", wearer) }
        writer.send(entry)
    }

    public func close() {
        writer.close()
    }

    /// A sink for `configuration`: socket `journalSocket`, spool in `stateDirectory`.
    public static func make(_ configuration: DaemonConfiguration, _ logger: Logger) -> (any EventSink)? {
        try? FileManager.default.createDirectory(
            atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        do {
            // Events are rare (a few a minute) and written by this output's own thread, so each
            // one spooled is synced at once: a power cut while journald is away loses none
            // (docs/journal-fields.md, "Durability").
            let writer = try JournalWriter(
                .init(
                    socketPath: configuration.journalSocket, spoolDirectory: configuration.stateDirectory,
                    fsync: .everyEntry))
            return JournalSink(writer: writer, wearer: configuration.wearer)
        } catch {
            logger.error("journal output unavailable: \(error.description)")
            return nil
        }
    }
}

extension DaemonEvent {
    /// The journal entry for this event (see the Journal module's entry builders and
    /// docs/journal-fields.md); every entry but exposure carries `TWITCH_SEQ`.
    public var journalEntry: JournalEntry {
        let time = EventTimestamp(
            realtimeUsec: UInt64(max(0, realtimeUsec)), monotonicUsec: monotonicUsec)
        var entry: JournalEntry
        switch kind {
        case .twitch(let t):
            var t = t
            t.location = location
            entry = .twitch(t, at: time, sensor: sensor, sequence: seq)
            if simulated { try? entry.add("TWITCH_SIMULATED", "1") }
            return entry
        case .state(let s):
            entry = .limbState(s, at: time, location: location, sensor: sensor)
        case .sensorLost(let detail):
            entry = .sensorLost(location: location, sensor: sensor, reason: detail)
        case .sensorBack:
            entry = .sensorBack(location: location, sensor: sensor)
        case .overrun(let n, let stage):
            entry = .overrun(location: location, sensor: sensor, stage: stage, dropped: UInt64(n))
        case .exposure(let p):
            entry = .exposure(
                p.exposure, startRealtimeUsec: UInt64(max(0, p.startRealtimeUsec)),
                endRealtimeUsec: UInt64(max(0, realtimeUsec)), samplesLost: UInt64(max(0, p.samplesLost)),
                location: location, sensor: sensor)
            // Outside the event sequence (no TWITCH_SEQ): identified by its sensor and start.
            if simulated { try? entry.add("TWITCH_SIMULATED", "1") }
            return entry
        }
        try? entry.add("TWITCH_SEQ", String(seq))
        if simulated { try? entry.add("TWITCH_SIMULATED", "1") }
        return entry
    }
}

/// The Journal module's sd_notify client behind the daemon's ``ServiceNotifier`` seam.
public struct JournalNotifier: ServiceNotifier {
    public let systemd: SystemdNotifier
    public init(_ systemd: SystemdNotifier) { self.systemd = systemd }
    public func notify(_ state: String) {
        systemd.notify(state.split(separator: "\n").map(String.init))
    }
    public var watchdogPingInterval: Duration? { systemd.watchdogInterval }
}
