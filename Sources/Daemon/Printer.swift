import Foundation
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

/// Formats events for a terminal: one aligned line each, location and size easy to see, coloured
/// only when writing to a terminal (and `NO_COLOR` is unset).
public struct EventPrinter: Sendable {
    public var color: Bool

    public init(color: Bool) { self.color = color }

    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    public static func forStandardOutput() -> EventPrinter {
        EventPrinter(
            color: isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
    }

    private func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    private func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let n = s.count
        guard n < width else { return s }
        let p = String(repeating: " ", count: width - n)
        return right ? p + s : s + p
    }

    /// Local wall-clock time with milliseconds, e.g. `14:03:27.412`.
    static func clock(_ realtimeUsec: Int64) -> String {
        var t = time_t(realtimeUsec / 1_000_000)
        var parts = tm()
        localtime_r(&t, &parts)
        let ms = Int((realtimeUsec % 1_000_000) / 1000)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)"
    }

    /// One line for an event given as a parsed JSON object (the tail client's view).
    public func line(json o: [String: Any]) -> String? {
        guard let type = o["type"] as? String else { return nil }
        let location = o["location"] as? String ?? "?"
        let seq = (o["seq"] as? NSNumber)?.int64Value ?? 0
        let realtime = ((o["onset_realtime_usec"] ?? o["time_realtime_usec"]) as? NSNumber)?.int64Value ?? 0
        let when = paint(Self.clock(realtime), "2")
        let loc = paint(pad(location, 12), "1;36")
        func num(_ key: String) -> Double { (o[key] as? NSNumber)?.doubleValue ?? 0 }
        switch type {
        case "twitch":
            let mg = num("peak_mg")
            let sizeCode = mg >= 50 ? "1;31" : mg >= 10 ? "1;33" : "1;32"
            let size = paint(pad(fixed(mg, 1), 7, right: true) + " mg", sizeCode)
            let dur = pad("\(Int(num("duration_ms").rounded())) ms", 7, right: true)
            let axis = o["axis"] as? String ?? "?"
            let freq = pad("\(Int(num("freq_hz").rounded())) Hz", 6, right: true)
            let conf = fixed(num("confidence"), 2)
            return "\(when)  \(loc)  twitch \(size) \(dur)  \(axis) \(freq)  conf \(conf)  #\(seq)"
        case "state":
            let state = o["state"] as? String ?? "?"
            let text: String
            switch state {
            case "rest": text = "at rest: counting twitches"
            case "active": text = "moving: not counting"
            default: text = "very still: sensor not worn?"
            }
            return "\(when)  \(loc)  \(paint(text, "2"))  #\(seq)"
        case "sensor-lost":
            return
                "\(when)  \(loc)  \(paint("sensor lost: \(o["detail"] as? String ?? "")", "1;31"))  #\(seq)"
        case "sensor-back":
            return "\(when)  \(loc)  \(paint("sensor back", "1;32"))  #\(seq)"
        case "overrun":
            let n = (o["lost_samples"] as? NSNumber)?.intValue ?? 0
            return
                "\(when)  \(loc)  \(paint("\(n) samples lost (\(o["stage"] as? String ?? "?"))", "1;31"))  #\(seq)"
        default:
            return nil
        }
    }

    /// One line for an event.
    public func line(_ event: DaemonEvent) -> String {
        let data = Data(event.jsonLine.utf8)
        if let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let l = line(json: o) {
            return l
        }
        return event.message
    }
}

/// Writes whole lines to a file descriptor, reporting a closed pipe instead of dying of SIGPIPE.
public enum LineWriter {
    /// Writes `line` and a newline to `fd`; false when the reader went away (EPIPE) or on error.
    public static func write(_ line: String, to fd: Int32 = 1) -> Bool {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}
