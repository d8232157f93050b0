import TwitchCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

    /// The fields of an event's JSON line that the terminal view shows. All optional, so a line
    /// from an older or newer daemon still prints what it has.
    struct EventFields: Decodable {
        var type: String?
        var seq: Int64?
        var location: String?
        var onsetRealtimeUsec: Int64?
        var timeRealtimeUsec: Int64?
        var peakMg: Double?
        var durationMs: Double?
        var axis: String?
        var freqHz: Double?
        var confidence: Double?
        var state: String?
        var detail: String?
        var lostSamples: Int?
        var stage: String?

        /// The fields of `event` itself, as its JSON line would carry them (without the round trip).
        init(_ event: DaemonEvent) {
            type = event.typeName
            seq = Int64(truncatingIfNeeded: event.seq)
            location = event.location
            switch event.kind {
            case .twitch(let t):
                onsetRealtimeUsec = event.realtimeUsec
                peakMg = t.peakMg
                durationMs = t.durationMs
                axis = t.axis.rawValue
                freqHz = t.frequencyHz
                confidence = t.confidence
            case .state(let limb):
                timeRealtimeUsec = event.realtimeUsec
                state = limb.rawValue
            case .sensorLost(let text):
                timeRealtimeUsec = event.realtimeUsec
                detail = text
            case .sensorBack:
                timeRealtimeUsec = event.realtimeUsec
            case .overrun(let n, let lostIn):
                timeRealtimeUsec = event.realtimeUsec
                lostSamples = n
                stage = lostIn
            case .exposure(let p):
                timeRealtimeUsec = event.realtimeUsec
                lostSamples = p.samplesLost
            }
        }

        enum CodingKeys: String, CodingKey {
            case type, seq, location, axis, confidence, state, detail, stage
            case onsetRealtimeUsec = "onset_realtime_usec"
            case timeRealtimeUsec = "time_realtime_usec"
            case peakMg = "peak_mg"
            case durationMs = "duration_ms"
            case freqHz = "freq_hz"
            case lostSamples = "lost_samples"
        }
    }

    /// One line for an event given as its JSON line (the tail client's view); nil for a line that
    /// is not an event this version knows.
    public func line(jsonLine: String) -> String? {
        guard let o = try? JSONDecoder().decode(EventFields.self, from: Data(jsonLine.utf8)) else {
            return nil
        }
        return line(o)
    }

    /// One line for an event.
    public func line(_ event: DaemonEvent) -> String {
        line(EventFields(event)) ?? event.message
    }

    /// `text` safe for a terminal: control characters (C0, DEL, C1: the start of every escape
    /// sequence that could move the cursor, retitle the window or fake a line) become `?`, and it
    /// is cut at `limit` characters. The daemon's fields never contain these; a forged or
    /// damaged line might.
    public static func printable(_ text: String, limit: Int = 120) -> String {
        var out = String.UnicodeScalarView()
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                out.append("~")
                break
            }
            let v = scalar.value
            let control = v < 0x20 || (v >= 0x7F && v < 0xA0) || v == 0x2028 || v == 0x2029
            out.append(control ? "?" : scalar)
            count += 1
        }
        return String(out)
    }

    private func line(_ o: EventFields) -> String? {
        guard let type = o.type else { return nil }
        var o = o
        o.location = o.location.map { Self.printable($0, limit: 40) }
        o.axis = o.axis.map { Self.printable($0, limit: 4) }
        o.detail = o.detail.map { Self.printable($0) }
        o.stage = o.stage.map { Self.printable($0, limit: 20) }
        let location = o.location ?? "?"
        let seq = o.seq ?? 0
        let when = paint(Self.clock(o.onsetRealtimeUsec ?? o.timeRealtimeUsec ?? 0), "2")
        let loc = paint(pad(location, 12), "1;36")
        switch type {
        case "twitch":
            let mg = o.peakMg ?? 0
            let sizeCode = mg >= 50 ? "1;31" : mg >= 10 ? "1;33" : "1;32"
            let size = paint(pad(fixed(mg, 1), 7, right: true) + " mg", sizeCode)
            // fixed(_:0), not Int(): the line comes from a socket and may hold any number.
            let dur = pad("\(fixed(o.durationMs ?? 0, 0)) ms", 7, right: true)
            let axis = o.axis ?? "?"
            let freq = pad("\(fixed(o.freqHz ?? 0, 0)) Hz", 6, right: true)
            let conf = fixed(o.confidence ?? 0, 2)
            return "\(when)  \(loc)  twitch \(size) \(dur)  \(axis) \(freq)  conf \(conf)  #\(seq)"
        case "state":
            let text: String
            switch o.state ?? "?" {
            case "rest": text = "at rest: counting twitches"
            case "active": text = "moving: not counting"
            default: text = "very still: sensor not worn?"
            }
            return "\(when)  \(loc)  \(paint(text, "2"))  #\(seq)"
        case "sensor-lost":
            return "\(when)  \(loc)  \(paint("sensor lost: \(o.detail ?? "")", "1;31"))  #\(seq)"
        case "sensor-back":
            return "\(when)  \(loc)  \(paint("sensor back", "1;32"))  #\(seq)"
        case "overrun":
            let n = o.lostSamples ?? 0
            return "\(when)  \(loc)  \(paint("\(n) samples lost (\(o.stage ?? "?"))", "1;31"))  #\(seq)"
        default:
            return nil
        }
    }
}
