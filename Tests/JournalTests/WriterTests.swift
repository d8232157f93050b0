import Foundation
import Glibc
import Testing
import TwitchCore

@testable import Journal

/// Numbered entries to check order with.
func numbered(_ i: Int, padding: Int = 0) -> JournalEntry {
    var e = JournalEntry(message: "entry \(i)", identifier: "twitchd-test")
    e.addUnchecked("TWITCH_SEQ", String(i))
    if padding > 0 { e.addUnchecked("PADDING", String(repeating: "p", count: padding)) }
    return e
}

/// Receives everything the writer delivers, calling `deliverSpooled` whenever the socket's small
/// queue (net.unix.max_dgram_qlen, often 10) has been emptied, until nothing is pending.
func collect(_ sock: TestSocket, _ writer: JournalWriter) -> [TestSocket.Datagram] {
    var out: [TestSocket.Datagram] = []
    while true {
        let batch = sock.receiveAll(quiet: 0.01)
        out += batch
        let pending = writer.deliverSpooled()
        if batch.isEmpty && pending == 0 {
            out += sock.receiveAll(quiet: 0.05)
            return out
        }
    }
}

func sequenceNumbers(_ datagrams: [TestSocket.Datagram]) -> [Int] {
    datagrams.compactMap { d in (try? JournalEntry(decoding: d.bytes))?["TWITCH_SEQ"].flatMap { Int($0) } }
}

@Suite("JournalWriter against a test socket")
struct WriterTests {
    @Test("an entry arrives as one datagram in the native protocol")
    func sendsDatagram() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path)
        let writer = try JournalWriter(.init(socketPath: sock.path, retryInterval: nil))
        defer { writer.close() }
        var entry = JournalEntry(message: "hello\nworld", priority: .notice)
        try entry.add("BLOB", bytes: [0, 1, 0x0A, 2])
        #expect(writer.send(entry) == .sent)
        let d = try #require(sock.receive())
        #expect(d.fds.isEmpty)
        #expect(d.bytes == entry.encoded())
        let decoded = try JournalEntry(decoding: d.bytes)
        #expect(decoded == entry)
        #expect(writer.statistics.sent == 1)
    }

    @Test("an entry too large for a datagram arrives as a sealed memfd holding exactly the entry")
    func memfdFallback() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path)
        // A small send buffer makes a 256 KiB entry too large for one datagram (EMSGSIZE).
        let writer = try JournalWriter(
            .init(socketPath: sock.path, retryInterval: nil, sendBufferSize: 64 * 1024))
        defer { writer.close() }
        var entry = JournalEntry(message: "big")
        var big = [UInt8](repeating: 0, count: 256 * 1024)
        for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 7) }
        try entry.add("BIG", bytes: big)
        #expect(writer.send(entry) == .sentViaMemfd)
        let d = try #require(sock.receive())
        #expect(d.bytes.isEmpty, "the datagram carries only the descriptor")
        #expect(d.fds.count == 1)
        let fd = try #require(d.fds.first)
        defer { close(fd) }
        let seals = fcntl(fd, fGetSeals)
        #expect(seals == fSealSeal | fSealShrink | fSealGrow | fSealWrite)
        // Sealed: writing must fail.
        var one: UInt8 = 1
        #expect(pwrite(fd, &one, 1, 0) < 0)
        let content = readAll(fd: fd)
        #expect(content == entry.encoded())
        let decoded = try JournalEntry(decoding: content)
        #expect(decoded["BIG"].map { _ in true } == true)
        #expect(writer.statistics.sentViaMemfd == 1)
    }

    @Test("with no journald socket entries are spooled, then delivered in order before new ones")
    func spoolWhileMissing() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.path + "/socket"
        let writer = try JournalWriter(.init(socketPath: path, spoolDirectory: dir.path, retryInterval: nil))
        defer { writer.close() }
        for i in 0..<10 { #expect(writer.send(numbered(i)) == .spooled) }
        #expect(writer.statistics.pendingEntries == 10)
        #expect(writer.statistics.lastError == ENOENT)
        let sock = try TestSocket(directory: dir.path)
        // The next send drains the spool first.
        #expect(writer.send(numbered(10)) == .sent)
        #expect(sequenceNumbers(sock.receiveAll()) == Array(0...10))
        #expect(writer.statistics.pendingEntries == 0)
        #expect(writer.statistics.deliveredFromSpool == 10)
    }

    @Test("a dead socket (ECONNREFUSED) spools; the retry thread delivers on its own")
    func retryThreadDelivers() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        var sock: TestSocket? = try TestSocket(directory: dir.path)
        let path = dir.path + "/socket"
        let writer = try JournalWriter(
            .init(socketPath: path, spoolDirectory: dir.path, retryInterval: .milliseconds(50)))
        defer { writer.close() }
        #expect(writer.send(numbered(0)) == .sent)
        _ = sock?.receive()
        sock = nil  // closed: the path now refuses connections
        for i in 1...5 { #expect(writer.send(numbered(i)) == .spooled) }
        #expect(writer.statistics.lastError == ECONNREFUSED)
        unlink(path)
        let again = try TestSocket(directory: dir.path)
        #expect(waitUntil(timeout: 3) { writer.statistics.pendingEntries == 0 })
        #expect(sequenceNumbers(again.receiveAll()) == [1, 2, 3, 4, 5])
    }

    @Test("a full receive queue (EAGAIN) never blocks: entries spool and keep their order")
    func fullQueue() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path, receiveBuffer: 4096)
        let writer = try JournalWriter(.init(socketPath: sock.path, retryInterval: nil))
        defer { writer.close() }
        let count = 3000
        let start = Date()
        var outcomes: [JournalWriter.Outcome] = []
        for i in 0..<count { outcomes.append(writer.send(numbered(i, padding: 200))) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(outcomes.contains(.spooled), "the queue should have filled up")
        #expect(!outcomes.contains(.dropped))
        // Nothing reads the socket before collect(), so a send that blocked would never return;
        // the bound only turns that hang into a failure. Generous, because the emulated arm64
        // run (scripts/arm64-check) took 5.1 s for these 3000 sends.
        #expect(elapsed < 60, "sending must not block (took \(elapsed) s)")
        #expect(sequenceNumbers(collect(sock, writer)) == Array(0..<count))
    }

    @Test("the file spool survives the process: a new writer delivers what the old one kept")
    func spoolSurvivesRestart() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try spoolWithNoJournald(entries: 7, in: dir)
        let sock = try TestSocket(directory: dir.path)
        let writer = try JournalWriter(.init(socketPath: path, spoolDirectory: dir.path, retryInterval: nil))
        defer { writer.close() }
        #expect(writer.statistics.pendingEntries == 7)
        #expect(writer.deliverSpooled() == 0)
        #expect(sequenceNumbers(sock.receiveAll()) == Array(0..<7))
        let size =
            (try? FileManager.default.attributesOfItem(atPath: dir.path + "/journal.spool")[.size]) as? Int
        #expect(size == 0, "a drained spool is emptied")
    }

    @Test("a torn record at the end of the spool is cut off, the complete ones are kept, the loss reported")
    func tornTail() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try spoolWithNoJournald(entries: 3, in: dir)
        // Simulate a crash in the middle of appending a fourth record.
        let spoolPath = dir.path + "/journal.spool"
        let handle = try #require(FileHandle(forWritingAtPath: spoolPath))
        handle.seekToEndOfFile()
        handle.write(Data([UInt8(ascii: "T"), UInt8(ascii: "J"), 100, 0, 0, 0, 1, 2, 3, 4, 65, 66]))
        handle.closeFile()
        let sock = try TestSocket(directory: dir.path)
        let writer = try JournalWriter(.init(socketPath: path, spoolDirectory: dir.path, retryInterval: nil))
        defer { writer.close() }
        #expect(writer.statistics.pendingEntries == 4, "3 entries and the damage notice")
        writer.send(numbered(3))
        let got = sock.receiveAll()
        #expect(sequenceNumbers(got) == [0, 1, 2, 3])
        let ids = got.compactMap { (try? JournalEntry(decoding: $0.bytes))?["MESSAGE_ID"] }
        #expect(ids == [JournalMessageID.spoolDamaged])
    }

    @Test("a full spool drops new entries, never silently: a notice takes their place, in order")
    func spoolFull() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.path + "/socket"
        let writer = try JournalWriter(
            .init(socketPath: path, spoolDirectory: dir.path, spoolLimitBytes: 8192, retryInterval: nil))
        defer { writer.close() }
        var outcomes: [JournalWriter.Outcome] = []
        for i in 0..<40 { outcomes.append(writer.send(numbered(i, padding: 100))) }
        let kept = outcomes.prefix { $0 == .spooled }.count
        #expect(kept > 5 && kept < 40)
        #expect(outcomes.dropFirst(kept).allSatisfy { $0 == .dropped })
        #expect(writer.statistics.dropped == UInt64(40 - kept))
        let sock = try TestSocket(directory: dir.path)
        var received = collect(sock, writer).compactMap { try? JournalEntry(decoding: $0.bytes) }
        #expect(writer.send(numbered(100)) == .sent)
        received += sock.receiveAll().compactMap { try? JournalEntry(decoding: $0.bytes) }
        try #require(received.count == kept + 2)
        #expect(received.prefix(kept).map { $0["TWITCH_SEQ"] } == (0..<kept).map { String($0) })
        let notice = received[kept]
        #expect(notice["MESSAGE_ID"] == JournalMessageID.spoolOverflow)
        #expect(notice["TWITCH_DROPPED"] == String(40 - kept))
        #expect(notice["PRIORITY"] == "4")
        #expect(received.last?["TWITCH_SEQ"] == "100")
    }

    @Test("an in-memory spool (no state directory) also keeps order")
    func memorySpool() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.path + "/socket"
        let writer = try JournalWriter(.init(socketPath: path, retryInterval: nil))
        defer { writer.close() }
        for i in 0..<5 { #expect(writer.send(numbered(i)) == .spooled) }
        let sock = try TestSocket(directory: dir.path)
        #expect(writer.deliverSpooled() == 0)
        #expect(writer.send(numbered(5)) == .sent)
        #expect(sequenceNumbers(sock.receiveAll()) == Array(0...5))
    }

    @Test("delivered space at the head of the spool file is reclaimed, order kept")
    func compaction() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = dir.path + "/socket"
        let limit = 8192
        let writer = try JournalWriter(
            .init(socketPath: path, spoolDirectory: dir.path, spoolLimitBytes: limit, retryInterval: nil))
        defer { writer.close() }
        for i in 0..<18 { #expect(writer.send(numbered(i, padding: 100)) == .spooled) }
        // journald appears but is slow: each round only its short queue is delivered, while new
        // entries keep arriving. Without compaction the file would outgrow the limit.
        let sock = try TestSocket(directory: dir.path)
        var received: [Int] = []
        var next = 18
        for _ in 0..<5 {
            received += sequenceNumbers(sock.receiveAll(quiet: 0.02))
            let left = writer.deliverSpooled()
            #expect(left > 0)
            for _ in 0..<10 {
                #expect(writer.send(numbered(next, padding: 100)) == .spooled)
                next += 1
            }
        }
        let size = try #require(
            (try? FileManager.default.attributesOfItem(atPath: dir.path + "/journal.spool")[.size]) as? Int)
        #expect(size <= limit, "the spool file was compacted (\(size) bytes)")
        received += sequenceNumbers(collect(sock, writer))
        #expect(received == Array(0..<next))
        #expect(writer.statistics.dropped == 0)
    }

    @Test("two writers cannot share one spool directory")
    func spoolLocked() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = try JournalWriter(
            .init(socketPath: dir.path + "/socket", spoolDirectory: dir.path, retryInterval: nil))
        #expect(throws: SystemError.self) {
            _ = try JournalWriter(
                .init(socketPath: dir.path + "/socket", spoolDirectory: dir.path, retryInterval: nil))
        }
        first.close()
        let second = try JournalWriter(
            .init(socketPath: dir.path + "/socket", spoolDirectory: dir.path, retryInterval: nil))
        second.close()
    }

    @Test("an unusable spool directory is an error naming the path")
    func badSpoolDirectory() {
        #expect(throws: SystemError.self) {
            _ = try JournalWriter(.init(spoolDirectory: "/nonexistent/twitchd-test", retryInterval: nil))
        }
        do {
            _ = try JournalWriter(.init(spoolDirectory: "/nonexistent/twitchd-test", retryInterval: nil))
        } catch {
            #expect(error.description.contains("/nonexistent/twitchd-test/journal.spool"))
        }
    }

    @Test("sending from several threads at once loses nothing")
    func concurrentSenders() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path, receiveBuffer: 1 << 20)
        let writer = try JournalWriter(.init(socketPath: sock.path, retryInterval: .milliseconds(20)))
        defer { writer.close() }
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<100 { writer.send(numbered(t * 1000 + i)) }
                }
            }
        }
        var got: [Int] = []
        while got.count < 400 {
            let batch = sequenceNumbers(sock.receiveAll(quiet: 0.2))
            if batch.isEmpty { break }
            got += batch
        }
        #expect(got.count == 400)
        // Per sender, order is kept.
        for t in 0..<4 {
            #expect(got.filter { $0 / 1000 == t } == (0..<100).map { t * 1000 + $0 })
        }
    }
}

/// Sends `entries` numbered entries from a writer whose journald socket does not exist, so they
/// all land in the file spool in `dir`, then closes the writer. Returns the socket path it used.
func spoolWithNoJournald(entries: Int, in dir: TempDir) throws -> String {
    let path = dir.path + "/socket"
    let writer = try JournalWriter(.init(socketPath: path, spoolDirectory: dir.path, retryInterval: nil))
    for i in 0..<entries { writer.send(numbered(i)) }
    writer.close()
    return path
}
