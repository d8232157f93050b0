import Daemon
import Detector
import Foundation
import JournalOutput
import Logging
import Synchronization
import TestSupport
import Testing
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// A deliberately simple detector for pipeline tests: a "twitch" whenever the acceleration leaves
/// its running mean by more than a threshold, then 300 ms of refractory time. It lets the daemon's
/// plumbing be tested independently of the real detector's tuning.
struct ThresholdDetector: StreamDetector {
    var thresholdG: Double = 0.004
    var location: String
    var mean: Vector3?
    var refractoryUntil = -Double.infinity

    mutating func process(_ sample: Sample, _ emit: (DetectorOutput) -> Void) {
        let a = sample.acceleration
        guard let m = mean else {
            mean = a
            return
        }
        mean = m * 0.99 + a * 0.01
        let deviation = (a - m).magnitude
        if deviation > thresholdG && sample.time >= refractoryUntil {
            refractoryUntil = sample.time + 0.3
            emit(
                .twitch(
                    TwitchEvent(
                        onset: sample.time, durationMs: 80, peakMg: deviation * 1000, axis: .z,
                        frequencyHz: 20, snr: 5, confidence: 0.9, location: location)))
        }
    }

    mutating func finish(_ emit: (DetectorOutput) -> Void) {}
}

/// Thread-safe event collection.
///
/// (An NSLock, a pthread mutex, not `Mutex`: ThreadSanitizer cannot see `Mutex` handed over
/// under contention on Linux and would report the test's own reads as races.)
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [DaemonEvent] = []
    var count: Int { lock.withLock { list.count } }
    var all: [DaemonEvent] { lock.withLock { list } }
    /// The twitch events, in emission order.
    var twitches: [DaemonEvent] { all.filter { if case .twitch = $0.kind { true } else { false } } }
    /// Their sequence numbers, as the journal's `TWITCH_SEQ` spells them.
    var twitchSeqs: [String] { twitches.map { String($0.seq) } }
    var sink: ClosureSink {
        ClosureSink(name: "collector") { [self] e in lock.withLock { list.append(e) } }
    }
}

func testLogger() -> Logger {
    var l = Logger(label: "test")
    l.logLevel = .warning
    return l
}

/// A fresh directory under /tmp.
func temporaryDirectory(_ tag: String) -> String {
    let path = "/tmp/twitchd-test-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A simulated-sensor configuration.
func simConfiguration(dir: String, sensors: [(String, UInt64)] = [("left-calf", 1)], speed: Double = 4)
    -> DaemonConfiguration
{
    var c = DaemonConfiguration()
    c.file = "<test>"
    c.sensors = sensors.map { (location, seed) in
        var s = SensorConfiguration(bus: "sim:adxl355", location: location)
        s.rate = 800
        s.seed = seed
        s.speed = speed
        return s
    }
    c.journal = false
    c.eventSocket = dir + "/events.sock"
    c.stateDirectory = dir + "/state"
    return c
}

func testOptions(extra: [any EventSink] = []) -> DaemonOptions {
    var o = DaemonOptions(sourceFactory: SourceFactories.simulated, logger: testLogger())
    o.detectorFactory = { ThresholdDetector(location: $0.location) }
    o.extraSinks = extra
    o.journalFactory = JournalSink.make
    return o
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
@discardableResult
func waitUntil(_ timeout: Double, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// A raw client of the event socket.
final class RawClient {
    let fd: Int32
    var buffer: [UInt8] = []
    var lines: [String] = []

    init?(path: String) {
        guard let (fd, _) = TailClient(candidates: [path]).connectOnce() else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Reads what is available for up to `timeout` seconds.
    func pump(_ timeout: Double) {
        let end = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while Date() < end {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 20) <= 0 { continue }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return }
            buffer.append(contentsOf: chunk[0..<n])
            while let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: buffer[..<nl], as: UTF8.self))
                buffer.removeFirst(nl + 1)
            }
        }
    }

    var seqs: [Int] {
        lines.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["seq"] as? Int
        }
    }
}

/// The built `twitchd` (TestSupport's search, from this checkout).
func twitchdBinary() -> String? { builtTwitchd() }

/// For `.enabled(if:)` on tests that run the binary.
let twitchdBuilt = Prerequisite.met(twitchdBinary() != nil)
/// For `.enabled(if:)` on tests that run the binary on the shared development traces.
let twitchdAndTraces = Prerequisite.met(twitchdBinary() != nil && twitchyTrace() != nil)

/// The binary, or a failed `#require` naming what to do.
func requireTwitchd(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    try #require(
        twitchdBinary(), "the twitchd executable was not found; run `swift build` first",
        sourceLocation: sourceLocation)
}

/// A twitchy development trace, or a failed `#require`.
func requireTrace(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    try #require(
        twitchyTrace(), "shared/data/traces not found beside the checkout",
        sourceLocation: sourceLocation)
}

/// `shared/data/traces`, found by walking up from this file.
func sharedTraces() -> String? {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<8 {
        dir = dir.deletingLastPathComponent()
        let p = dir.appendingPathComponent("shared/data/traces").path
        if FileManager.default.fileExists(atPath: p) { return p }
    }
    return nil
}
