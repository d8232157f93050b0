// Sends entries to journald over its native socket, never blocking for long, spooling while
// journald is away.

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Sends ``JournalEntry`` values to journald (native protocol, written here: no libsystemd).
///
/// - One datagram per entry to ``Configuration/socketPath`` from a non-blocking socket: `send`
///   never waits for journald.
/// - An entry too large for a datagram (`EMSGSIZE`) goes into a sealed memfd whose descriptor is
///   sent instead (`SCM_RIGHTS`), as libsystemd does.
/// - While journald is missing or restarting (`ENOENT`, `ECONNREFUSED`, `EAGAIN`, `ENOBUFS`, ...)
///   entries go to a spool (a file in the state directory, or memory) and are delivered in their
///   original order, before any newer entry, when journald is back. A background thread retries
///   every ``Configuration/retryInterval``; each `send` also tries first.
/// - The spool is bounded (``Configuration/spoolLimitBytes``). When it is full, new entries are
///   dropped, counted, announced once on stderr, and replaced in the journal by one entry with
///   `MESSAGE_ID=`\(JournalMessageID.spoolOverflow) saying how many were lost and when. Never
///   silently.
///
/// Thread-safe: any thread may call `send` (the daemon's output thread, the log handler).
///
/// ```swift
/// let journal = try JournalWriter(.init(spoolDirectory: "/var/lib/twitchd"))
/// journal.send(.twitch(event, at: .monotonic(seconds: event.onset), sensor: "i2c-1/0x53", sequence: n))
/// journal.close()   // at shutdown: stops the retry thread, syncs the spool
/// ```
public final class JournalWriter: Sendable {
    /// journald's native socket.
    public static let defaultSocketPath = "/run/systemd/journal/socket"

    /// How the writer is set up.
    public struct Configuration: Sendable {
        /// The journald socket; for a journald namespace NAME: `/run/systemd/journal.NAME/socket`.
        public var socketPath: String
        /// Where the spool file lives (e.g. systemd's `$STATE_DIRECTORY`, `/var/lib/twitchd`);
        /// nil keeps the spool in memory (lost if the process exits before journald returns).
        public var spoolDirectory: String?
        /// The spool's file name in ``spoolDirectory`` (one writer per file).
        public var spoolFileName: String = "journal.spool"
        /// Largest spool size in bytes; entries beyond it are dropped and reported.
        public var spoolLimitBytes: Int
        /// When spooled data is forced to disk. Spool writes survive a crash of the process either
        /// way (they are in the page cache); fsync only matters for power loss.
        public var fsync: FsyncPolicy
        /// How often the background thread retries delivering the spool; nil: no thread, only
        /// `send` and ``JournalWriter/deliverSpooled()`` deliver.
        public var retryInterval: Duration?
        /// The socket's send buffer (`SO_SNDBUF`); larger entries take the memfd path. Nil keeps
        /// the kernel's default (about 200 KiB).
        public var sendBufferSize: Int?
        /// `SYSLOG_IDENTIFIER` of the writer's own entries (spool overflow notices).
        public var identifier: String
        /// How long journald's queue must stay full (`EAGAIN`: it is behind, not gone) before
        /// that is said on stderr. Shorter episodes are only counted.
        public var busyNoticeAfter: Duration = .seconds(5)
        /// How often at most the count of short full-queue episodes is said on stderr.
        public var busySummaryInterval: Duration = .seconds(60)
        /// Where the writer's own messages go (one line each): stderr.
        var notice: @Sendable (String) -> Void = { writeStderr($0) }

        /// Defaults: the system journal, an in-memory spool of 8 MiB, fsync by the retry thread,
        /// retry every second, the kernel's send buffer, identifier `twitchd`.
        public init(
            socketPath: String = JournalWriter.defaultSocketPath, spoolDirectory: String? = nil,
            spoolLimitBytes: Int = 8 << 20, fsync: FsyncPolicy = .interval,
            retryInterval: Duration? = .seconds(1),
            sendBufferSize: Int? = nil, identifier: String = "twitchd"
        ) {
            self.socketPath = socketPath
            self.spoolDirectory = spoolDirectory
            self.spoolLimitBytes = spoolLimitBytes
            self.fsync = fsync
            self.retryInterval = retryInterval
            self.sendBufferSize = sendBufferSize
            self.identifier = identifier
        }
    }

    /// When spooled entries are synced to disk.
    public enum FsyncPolicy: Sendable, Equatable {
        /// After every spooled entry (in the caller's thread: slower `send` while spooling).
        case everyEntry
        /// By the background thread, at most one retry interval after an entry was spooled.
        case interval
        /// Never explicitly (the kernel writes back within ~30 s).
        case never
    }

    /// What happened to one entry.
    public enum Outcome: Sendable, Equatable {
        /// journald has it (in a datagram).
        case sent
        /// journald has it (too big for a datagram: sent as a sealed memfd).
        case sentViaMemfd
        /// Kept in the spool, to be delivered when journald is back.
        case spooled
        /// Lost: the spool was full or unwritable (counted; reported on stderr and, later, in the
        /// journal), or the entry cannot be sent at all (reported on stderr).
        case dropped
    }

    /// Counters since the writer was created.
    public struct Statistics: Sendable, Equatable {
        /// Entries journald accepted directly (including via memfd).
        public var sent: UInt64 = 0
        /// Of those, entries sent through a memfd.
        public var sentViaMemfd: UInt64 = 0
        /// Entries that went to the spool.
        public var spooled: UInt64 = 0
        /// Spooled entries later delivered to journald.
        public var deliveredFromSpool: UInt64 = 0
        /// Entries lost (spool full or failing, or refused by journald for good).
        public var dropped: UInt64 = 0
        /// Entries waiting in the spool now.
        public var pendingEntries: Int = 0
        /// Bytes waiting in the spool now.
        public var pendingBytes: Int = 0
        /// The last send error (errno), 0 if none yet.
        public var lastError: Int32 = 0
    }

    private struct State: ~Copyable {
        var socketFD: Int32
        var spool: any Spool
        var stats = Statistics()
        /// Entries dropped since the last overflow notice was queued.
        var droppedUnreported: UInt64 = 0
        var firstDropUsec: UInt64 = 0
        var lastDropUsec: UInt64 = 0
        /// Whether journald was reachable on the last attempt (for stderr notices on changes).
        var journalReachable = true
        /// Since when (monotonic us) journald's queue has been full, while it is.
        var busySinceUsec: UInt64?
        /// Whether the current full-queue episode was said on stderr.
        var busyAnnounced = false
        /// Full-queue episodes not yet said on stderr, and when the last such message was.
        var busyEpisodesUnreported: UInt64 = 0
        var lastBusyMessageUsec: UInt64 = 0
        var closed = false
    }

    private let configuration: Configuration
    private let address: UnixAddress?
    private let state: Mutex<State>
    private let retryThread: Mutex<PeriodicThread?> = Mutex(nil)

    /// Space kept free in the spool for the overflow notice.
    private static let overflowReserve = 4096
    /// Spooled entries a `send` delivers before its own (the rest is left to the retry thread).
    private static let drainPerSend = 16
    /// Spooled entries the retry thread delivers per turn of the lock.
    private static let drainPerTick = 32
    /// Retry delay while journald is up but its socket queue is full.
    private static let busyRetryMs: Int32 = 5

    /// Opens the socket and the spool (recovering entries an earlier run left undelivered).
    /// Throws when the spool directory cannot be used or no socket can be created.
    public init(_ configuration: Configuration = Configuration()) throws(SystemError) {
        self.configuration = configuration
        address = UnixAddress(path: configuration.socketPath)
        let fd = makeDatagramSocket()
        guard fd >= 0 else { throw SystemError(errno, "socket(AF_UNIX, SOCK_DGRAM)") }
        if var size = configuration.sendBufferSize.map({ Int32(clamping: $0) }) {
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let spool: any Spool
        if let dir = configuration.spoolDirectory {
            do {
                spool = try FileSpool(directory: dir, fileName: configuration.spoolFileName)
            } catch {
                closeFD(fd)
                throw error
            }
        } else {
            spool = MemorySpool()
        }
        // Damage found while recovering the spool is recorded in order, after the intact
        // entries before and around it.
        if let file = spool as? FileSpool, let damage = file.damageFound {
            let notice = JournalEntry.spoolDamaged(
                damage, path: file.path, identifier: configuration.identifier)
            try? spool.append(notice.encoded())
        }
        var s = State(socketFD: fd, spool: spool)
        s.lastBusyMessageUsec = Clocks.monotonicUsec()
        s.stats.pendingEntries = spool.pendingEntries
        s.stats.pendingBytes = spool.pendingBytes
        state = Mutex(s)
        if address == nil {
            configuration.notice(
                "twitchd journal: socket path '\(configuration.socketPath)' is empty or too long")
        }
        if let interval = configuration.retryInterval {
            let ms = Int32(
                clamping: max(
                    1,
                    interval.components.seconds * 1000 + interval.components.attoseconds
                        / 1_000_000_000_000_000))
            let thread = PeriodicThread(name: "twitchd-journal", intervalMs: ms) { [weak self] in
                self?.backgroundTick(intervalMs: ms) ?? ms
            }
            retryThread.withLock { $0 = thread }
        }
    }

    deinit {
        close()
    }

    /// Whether a journald socket exists at `path` (it may still be dead; `send` copes either way).
    public static func socketExists(at path: String = defaultSocketPath) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// The configuration this writer runs with.
    public var settings: Configuration { configuration }

    /// Counters and the spool's fill level.
    public var statistics: Statistics {
        state.withLock { $0.stats }
    }

    /// Sends one entry, or spools it if journald is not there. Returns quickly in every case.
    @discardableResult
    public func send(_ entry: JournalEntry) -> Outcome {
        send(encoded: entry.encoded())
    }

    /// Sends an entry already in the native protocol (see ``JournalEntry/encoded()``).
    @discardableResult
    public func send(encoded bytes: [UInt8]) -> Outcome {
        state.withLock { s -> Outcome in
            guard !s.closed else {
                s.stats.dropped += 1
                return .dropped
            }
            // Older entries first: drain some of the spool; if any remain, this entry queues
            // behind them.
            if s.spool.pendingEntries > 0 {
                drain(&s, limit: Self.drainPerSend)
            }
            if s.spool.pendingEntries == 0 && s.droppedUnreported == 0 {
                switch deliver(&s, bytes) {
                case .delivered(let viaMemfd):
                    s.stats.sent += 1
                    if viaMemfd { s.stats.sentViaMemfd += 1 }
                    return viaMemfd ? .sentViaMemfd : .sent
                case .unavailable:
                    break
                case .rejected:
                    s.stats.dropped += 1
                    return .dropped
                }
            }
            return spool(&s, bytes)
        }
    }

    /// Tries to deliver the whole spool now. Returns the number of entries still waiting.
    @discardableResult
    public func deliverSpooled() -> Int {
        state.withLock { s -> Int in
            guard !s.closed else { return s.spool.pendingEntries }
            drain(&s, limit: Int.max)
            return s.spool.pendingEntries
        }
    }

    /// Stops the retry thread, makes one last delivery attempt, syncs and closes the spool and
    /// the socket. Entries still spooled in a file are delivered by the next run. Idempotent.
    public func close() {
        let thread = retryThread.withLock { t -> PeriodicThread? in
            let old = t
            t = nil
            return old
        }
        thread?.stop()
        state.withLock { s in
            guard !s.closed else { return }
            drain(&s, limit: Int.max)
            reportBusyEpisodes(&s)
            if s.spool.pendingEntries > 0 {
                let where_ =
                    configuration.spoolDirectory.map { "in \($0)/\(configuration.spoolFileName)" }
                    ?? "in memory (lost)"
                configuration.notice(
                    "twitchd journal: closing with \(s.spool.pendingEntries) entries undelivered, \(where_)")
            }
            s.spool.closeFiles()
            closeFD(s.socketFD)
            s.closed = true
        }
    }

    // MARK: - internals

    private enum Delivery {
        case delivered(viaMemfd: Bool)
        /// journald is not there right now: keep the entry for later.
        case unavailable
        /// This entry can never be delivered (reported on stderr).
        case rejected
    }

    /// Delivers some of the spool; returns when to come back: soon if journald is there but its
    /// queue was full (a burst), after the configured interval otherwise.
    private func backgroundTick(intervalMs: Int32) -> Int32 {
        // Deliver in small batches, releasing the lock in between so that senders never wait
        // behind a long drain.
        var next = intervalMs
        while true {
            let more = state.withLock { s -> Bool in
                guard !s.closed else { return false }
                guard s.spool.pendingEntries > 0 || s.droppedUnreported > 0 else { return false }
                let before = s.spool.pendingEntries
                drain(&s, limit: Self.drainPerTick)
                let busy = s.stats.lastError == EAGAIN || s.stats.lastError == ENOBUFS
                if s.spool.pendingEntries > 0 && busy { next = min(intervalMs, Self.busyRetryMs) }
                return s.spool.pendingEntries > 0 && s.spool.pendingEntries < before
            }
            if !more { break }
        }
        // fdatasync can take long on an SD card: do it on duplicated descriptors, outside the lock.
        if configuration.fsync == .interval {
            let fds = state.withLock { s -> [Int32] in s.closed ? [] : s.spool.takeDescriptorsToSync() }
            for fd in fds {
                _ = fdatasync(fd)
                closeFD(fd)
            }
        }
        return next
    }

    /// Delivers up to `limit` spooled entries, oldest first, stopping at the first failure; then,
    /// once the spool is empty, the overflow notice if entries were dropped.
    private func drain(_ s: inout State, limit: Int) {
        var done = 0
        while done < limit, let bytes = s.spool.peek() {
            switch deliver(&s, bytes) {
            case .delivered(let viaMemfd):
                s.spool.removeFirst()
                s.stats.deliveredFromSpool += 1
                if viaMemfd { s.stats.sentViaMemfd += 1 }
            case .unavailable:
                updatePending(&s)
                return
            case .rejected:
                s.spool.removeFirst()
                s.stats.dropped += 1
            }
            done += 1
        }
        if s.spool.pendingEntries == 0 && s.droppedUnreported > 0 {
            let notice = JournalEntry.spoolOverflow(
                dropped: s.droppedUnreported, firstRealtimeUsec: s.firstDropUsec,
                lastRealtimeUsec: s.lastDropUsec, identifier: configuration.identifier)
            if case .delivered = deliver(&s, notice.encoded()) {
                s.droppedUnreported = 0
            }
        }
        updatePending(&s)
    }

    private func updatePending(_ s: inout State) {
        s.stats.pendingEntries = s.spool.pendingEntries
        s.stats.pendingBytes = s.spool.pendingBytes
    }

    /// One delivery attempt: a datagram, or a memfd if it is too large.
    private func deliver(_ s: inout State, _ bytes: [UInt8]) -> Delivery {
        guard let address else { return .unavailable }
        var err = sendDatagram(s.socketFD, bytes, to: address)
        var viaMemfd = false
        if err == EMSGSIZE || err == ENOBUFS && bytes.count > 64 * 1024 {
            switch makeSealedMemfd(name: "twitchd-journal", bytes: bytes) {
            case .success(let memfd):
                err = sendFileDescriptor(s.socketFD, memfd, to: address)
                closeFD(memfd)
                viaMemfd = true
            case .failure(let e):
                configuration.notice(
                    "twitchd journal: entry of \(bytes.count) bytes too large and \(e); dropped")
                s.stats.lastError = e.code
                return .rejected
            }
        }
        if err == 0 {
            if !s.journalReachable {
                s.journalReachable = true
                configuration.notice("twitchd journal: journald at \(configuration.socketPath) is back")
            }
            if s.busySinceUsec != nil { busyEnded(&s) }
            return .delivered(viaMemfd: viaMemfd)
        }
        s.stats.lastError = err
        switch err {
        case EAGAIN, EWOULDBLOCK, ENOBUFS:
            // journald is there but behind (its queue is full): back-pressure, not an outage.
            if s.journalReachable { busy(&s, err) }
            return .unavailable
        case ENOENT, ECONNREFUSED, ENOTCONN, ECONNRESET, EACCES, EPERM, ENOTDIR, ENOMEM, ETIMEDOUT:
            if s.journalReachable {
                s.journalReachable = false
                s.busySinceUsec = nil
                s.busyAnnounced = false
                configuration.notice(
                    "twitchd journal: journald at \(configuration.socketPath) unavailable "
                        + "(\(errnoDescription(err))); spooling to \(spoolTarget)")
            }
            return .unavailable
        default:
            configuration.notice(
                "twitchd journal: entry of \(bytes.count) bytes refused: \(errnoDescription(err)); dropped")
            return .rejected
        }
    }

    private var spoolTarget: String {
        configuration.spoolDirectory.map { "\($0)/\(configuration.spoolFileName)" } ?? "memory"
    }

    private static func microseconds(_ d: Duration) -> UInt64 {
        let c = d.components
        return UInt64(max(0, c.seconds)) &* 1_000_000 &+ UInt64(max(0, c.attoseconds / 1_000_000_000_000))
    }

    /// journald's queue was full (`err`): said on stderr only once it has stayed full for
    /// ``Configuration/busyNoticeAfter``; shorter episodes are counted (``busyEnded(_:)``).
    private func busy(_ s: inout State, _ err: Int32) {
        let now = Clocks.monotonicUsec()
        guard let since = s.busySinceUsec else {
            s.busySinceUsec = now
            return
        }
        let after = Self.microseconds(configuration.busyNoticeAfter)
        guard !s.busyAnnounced, now &- since >= after else { return }
        s.busyAnnounced = true
        s.lastBusyMessageUsec = now
        let shorter =
            s.busyEpisodesUnreported > 0
            ? " (and \(s.busyEpisodesUnreported) shorter times since the last message)" : ""
        s.busyEpisodesUnreported = 0
        configuration.notice(
            "twitchd journal: journald at \(configuration.socketPath) has taken no entry for "
                + "\(seconds(now &- since)) s (\(errnoDescription(err)): its queue is full, it is behind)"
                + "\(shorter); spooling to \(spoolTarget) until it catches up")
    }

    /// journald took an entry again after its queue was full.
    private func busyEnded(_ s: inout State) {
        let now = Clocks.monotonicUsec()
        let since = s.busySinceUsec ?? now
        s.busySinceUsec = nil
        if s.busyAnnounced {
            s.busyAnnounced = false
            s.lastBusyMessageUsec = now
            configuration.notice(
                "twitchd journal: journald at \(configuration.socketPath) takes entries again after "
                    + "\(seconds(now &- since)) s; the spooled ones follow in order")
            return
        }
        s.busyEpisodesUnreported += 1
        if now &- s.lastBusyMessageUsec >= Self.microseconds(configuration.busySummaryInterval) {
            reportBusyEpisodes(&s)
        }
    }

    /// Says how many short full-queue episodes there were since the last such message, if any.
    private func reportBusyEpisodes(_ s: inout State) {
        guard s.busyEpisodesUnreported > 0 else { return }
        let now = Clocks.monotonicUsec()
        let n = s.busyEpisodesUnreported
        configuration.notice(
            "twitchd journal: journald at \(configuration.socketPath) was behind (queue full, EAGAIN) "
                + "\(n) time\(n == 1 ? "" : "s") in the last \(seconds(now &- s.lastBusyMessageUsec)) s, "
                + "each time for less than \(seconds(Self.microseconds(configuration.busyNoticeAfter))) s; "
                + "entries waited in \(spoolTarget) meanwhile, in order")
        s.busyEpisodesUnreported = 0
        s.lastBusyMessageUsec = now
    }

    /// Whole seconds of `usec`, at least 1 when any.
    private func seconds(_ usec: UInt64) -> UInt64 {
        usec == 0 ? 0 : max(1, (usec + 500_000) / 1_000_000)
    }

    /// Puts an entry in the spool, or drops and counts it when the spool is full.
    private func spool(_ s: inout State, _ bytes: [UInt8]) -> Outcome {
        let limit = configuration.spoolLimitBytes
        let needed = bytes.count + FileSpool.recordHeaderSize
        if s.spool.storageBytes + needed > limit - Self.overflowReserve
            && s.spool.storageBytes > s.spool.pendingBytes
        {
            s.spool.compact()
        }
        if s.spool.pendingBytes + needed > limit - Self.overflowReserve {
            return drop(&s, reason: "spool full (\(limit) bytes)")
        }
        // Entries were lost just before this one: record that, in order, first.
        if s.droppedUnreported > 0 {
            let notice = JournalEntry.spoolOverflow(
                dropped: s.droppedUnreported, firstRealtimeUsec: s.firstDropUsec,
                lastRealtimeUsec: s.lastDropUsec, identifier: configuration.identifier)
            do {
                try s.spool.append(notice.encoded())
                s.droppedUnreported = 0
            } catch {
                return drop(&s, reason: error.description)
            }
        }
        do {
            try s.spool.append(bytes)
        } catch {
            return drop(&s, reason: error.description)
        }
        if configuration.fsync == .everyEntry { s.spool.sync() }
        s.stats.spooled += 1
        updatePending(&s)
        return .spooled
    }

    private func drop(_ s: inout State, reason: String) -> Outcome {
        let now = Clocks.realtimeUsec()
        if s.droppedUnreported == 0 {
            s.firstDropUsec = now
            configuration.notice(
                "twitchd journal: \(reason) while journald is unavailable; dropping new entries until it "
                    + "returns (the count will be written to the journal)")
        }
        s.droppedUnreported += 1
        s.lastDropUsec = now
        s.stats.dropped += 1
        updatePending(&s)
        return .dropped
    }
}
