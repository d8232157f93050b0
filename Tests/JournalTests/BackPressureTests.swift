import Foundation
import Glibc
import Testing

@testable import Journal

/// The lines a writer says (its stderr), collected.
final class Notices: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ line: String) { lock.withLock { list.append(line) } }
    var lines: [String] { lock.withLock { list } }
}

/// A writer on `sock` (no retry thread) whose messages go to `notices`.
func writer(
    _ sock: TestSocket, _ notices: Notices, spoolDirectory: String? = nil,
    busyNoticeAfter: Duration = .seconds(5)
) throws -> JournalWriter {
    var c = JournalWriter.Configuration(
        socketPath: sock.path, spoolDirectory: spoolDirectory, retryInterval: nil)
    c.busyNoticeAfter = busyNoticeAfter
    c.notice = { notices.append($0) }
    return try JournalWriter(c)
}

/// Sends numbered entries from `next` on until one is spooled (journald's queue is full: EAGAIN).
func fillQueue(_ writer: JournalWriter, _ next: inout Int) {
    while next < 1_000_000 {
        let outcome = writer.send(numbered(next, padding: 200))
        next += 1
        if outcome == .spooled { return }
    }
}

/// Everything waiting in the socket now.
func takeQueued(_ sock: TestSocket) -> [TestSocket.Datagram] {
    var out: [TestSocket.Datagram] = []
    while let d = sock.receive(timeout: 0) { out.append(d) }
    return out
}

@Suite("JournalWriter under back-pressure (EAGAIN)")
struct BackPressureTests {
    @Test("a full queue that empties again at once is counted, not announced each time; nothing is lost")
    func shortEpisodesAreCounted() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path, receiveBuffer: 4096)
        let notices = Notices()
        let w = try writer(sock, notices)
        var received: [TestSocket.Datagram] = []
        var next = 0
        // A writer faster than journald: 50 times the queue fills and journald catches up.
        for _ in 0..<50 {
            fillQueue(w, &next)
            #expect(w.statistics.lastError == EAGAIN)
            received += takeQueued(sock)
            #expect(w.deliverSpooled() == 0)
        }
        // Before: "unavailable (EAGAIN ...)" and "is back" 50 times each.
        #expect(notices.lines.isEmpty, "\(notices.lines)")
        w.close()
        received += takeQueued(sock)
        #expect(sequenceNumbers(received) == Array(0..<next))
        #expect(w.statistics.dropped == 0)
        // Closing says how often it happened, once.
        #expect(notices.lines.count == 1, "\(notices.lines)")
        #expect(
            notices.lines.first?.contains("was behind (queue full, EAGAIN) 50 times") == true,
            "\(notices.lines)")
    }

    @Test("a queue that stays full is said once, and again when journald takes entries again")
    func sustainedEpisodeIsSaidOnce() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sock = try TestSocket(directory: dir.path, receiveBuffer: 4096)
        let notices = Notices()
        let w = try writer(sock, notices, busyNoticeAfter: .milliseconds(50))
        defer { w.close() }
        var next = 0
        fillQueue(w, &next)
        #expect(notices.lines.isEmpty, "\(notices.lines)")
        usleep(100_000)
        for _ in 0..<20 {
            #expect(w.send(numbered(next, padding: 200)) == .spooled)
            next += 1
        }
        #expect(notices.lines.count == 1, "\(notices.lines)")
        #expect(notices.lines.first?.contains("has taken no entry for") == true, "\(notices.lines)")
        #expect(notices.lines.first?.contains("EAGAIN") == true, "\(notices.lines)")
        #expect(notices.lines.first?.contains("spooling to memory until it catches up") == true)
        var received = takeQueued(sock)
        received += collect(sock, w)
        #expect(sequenceNumbers(received) == Array(0..<next))
        #expect(notices.lines.count == 2, "\(notices.lines)")
        #expect(notices.lines.last?.contains("takes entries again after") == true, "\(notices.lines)")
    }

    @Test("an outage (ECONNREFUSED, ENOENT) is still said when it begins and when journald is back")
    func outagesAreSaidAsBefore() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        var sock: TestSocket? = try TestSocket(directory: dir.path)
        let path = dir.path + "/socket"
        let notices = Notices()
        var c = JournalWriter.Configuration(socketPath: path, spoolDirectory: dir.path, retryInterval: nil)
        c.notice = { notices.append($0) }
        let w = try JournalWriter(c)
        defer { w.close() }
        #expect(w.send(numbered(0)) == .sent)
        _ = sock?.receive()
        sock = nil  // closed: the path now refuses connections
        for i in 1...3 { #expect(w.send(numbered(i)) == .spooled) }
        unlink(path)  // and now it is gone
        for i in 4...6 { #expect(w.send(numbered(i)) == .spooled) }
        #expect(
            notices.lines == [
                "twitchd journal: journald at \(path) unavailable (ECONNREFUSED (Connection refused)); "
                    + "spooling to \(dir.path)/journal.spool"
            ])
        let again = try TestSocket(directory: dir.path)
        #expect(w.deliverSpooled() == 0)
        #expect(sequenceNumbers(again.receiveAll()) == [1, 2, 3, 4, 5, 6])
        #expect(notices.lines.count == 2)
        #expect(notices.lines.last == "twitchd journal: journald at \(path) is back")
    }
}
