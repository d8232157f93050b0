// Journal: twitchd's systemd integration, written here without libsystemd.
//
// What the daemon uses:
//
//   let journal = try JournalWriter(.init(socketPath: path, spoolDirectory: stateDir))
//   journal.send(.twitch(event, at: .monotonic(seconds: event.onset), sensor: id, sequence: n))
//   journal.send(.limbState(.rest, at: time, location: loc, sensor: id))
//   journal.send(.sensorLost(location: loc, sensor: id, reason: "EREMOTEIO"))
//   journal.send(.sensorBack(location: loc, sensor: id))
//   journal.send(.overrun(location: loc, sensor: id, stage: "acquisition", dropped: k))
//   journal.close()                                   // at shutdown
//
//   LoggingSystem.bootstrap(JournalLogHandler.factory(writer: journal))
//
//   let systemd = SystemdNotifier.fromEnvironment()  // no-op without $NOTIFY_SOCKET
//   systemd.ready(status: "...")  /  .status("...")  /  .reloading()  /  .stopping()
//   let watchdog = Watchdog(notifier: systemd) { acquisitionIsHealthy() }   // nil if no WatchdogSec
//   watchdog?.start()  ...  watchdog?.stop()
//
// Files: JournalEntry.swift (fields, native-protocol encoding), TwitchEntries.swift (entry
// builders, MESSAGE_IDs, EventTimestamp), JournalWriter.swift (socket, memfd, spool policy),
// Spool.swift (file and memory spools), SystemdNotifier.swift (sd_notify, Watchdog),
// JournalLogHandler.swift (swift-log), Posix.swift (sockets, memfd, threads).
// User-facing ids and fields: docs/journal-fields.md.
