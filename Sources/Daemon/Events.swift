public import TwitchCore

/// Something the daemon reports: a twitch, a change of limb state, or a change in acquisition.
public struct DaemonEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: Sendable, Equatable {
        /// A twitch.
        case twitch(TwitchEvent)
        /// The limb went still, started moving, or looks not worn.
        case state(LimbState)
        /// The sensor stopped answering (`detail` says why).
        case sensorLost(detail: String)
        /// The sensor answers again.
        case sensorBack
        /// Samples were lost: in the chip's FIFO (`chip`) or in the ring to the detector (`ring`).
        case overrun(lostSamples: Int, stage: String)
        /// How long the limb was at rest, active, not worn or without samples since the last such
        /// event (the denominator of rates; journal only, not served on the event socket).
        case exposure(ExposurePeriod)
    }

    /// One period of exposure of one sensor.
    public struct ExposurePeriod: Sendable, Equatable {
        /// Seconds in each condition.
        public var exposure: Exposure
        /// When the period began, `CLOCK_REALTIME` microseconds (it ends at the event's time).
        public var startRealtimeUsec: Int64
        /// Samples lost in the sensor or the ring during the period.
        public var samplesLost: Int

        public init(exposure: Exposure, startRealtimeUsec: Int64, samplesLost: Int) {
            self.exposure = exposure
            self.startRealtimeUsec = startRealtimeUsec
            self.samplesLost = samplesLost
        }
    }

    /// Increases by one for every event the daemon reports, across sensors and reloads.
    public var seq: UInt64
    public var kind: Kind
    /// e.g. `left-calf`.
    public var location: String
    /// e.g. `/dev/i2c-1@0x1D`.
    public var sensor: String
    /// Onset (twitch) or time of the change, `CLOCK_MONOTONIC` microseconds.
    public var monotonicUsec: UInt64
    /// The same instant on `CLOCK_REALTIME`, microseconds since the epoch.
    public var realtimeUsec: Int64
    /// When the daemon emitted the event (`CLOCK_MONOTONIC` microseconds): latency measurements.
    public var emittedMonotonicUsec: UInt64
    /// Whether the event comes from a simulated sensor (`sim:` bus, `twitchd demo`); the journal
    /// marks such entries `TWITCH_SIMULATED=1`.
    public var simulated: Bool

    public init(
        seq: UInt64, kind: Kind, location: String, sensor: String, monotonicUsec: UInt64,
        realtimeUsec: Int64, emittedMonotonicUsec: UInt64, simulated: Bool = false
    ) {
        self.simulated = simulated
        self.seq = seq
        self.kind = kind
        self.location = location
        self.sensor = sensor
        self.monotonicUsec = monotonicUsec
        self.realtimeUsec = realtimeUsec
        self.emittedMonotonicUsec = emittedMonotonicUsec
    }

    /// The `type` field of the JSON line.
    public var typeName: String {
        switch kind {
        case .twitch: return "twitch"
        case .state: return "state"
        case .sensorLost: return "sensor-lost"
        case .sensorBack: return "sensor-back"
        case .overrun: return "overrun"
        case .exposure: return "exposure"
        }
    }

    /// A readable one-line summary, also the journal's `MESSAGE`.
    public var message: String {
        switch kind {
        case .twitch(let t):
            return "twitch \(location) \(fixed(t.peakMg, 1)) mg \(Int(t.durationMs.rounded())) ms"
        case .state(let s):
            switch s {
            case .rest: return "\(location) at rest: counting twitches"
            case .active: return "\(location) moving: not counting twitches"
            case .notWorn: return "\(location) perfectly still for long: sensor probably not worn"
            }
        case .sensorLost(let detail): return "sensor \(sensor) (\(location)) lost: \(detail)"
        case .sensorBack: return "sensor \(sensor) (\(location)) back"
        case .overrun(let n, let stage):
            return
                "\(n) samples lost in the \(stage == "ring" ? "detector ring" : "sensor FIFO") (\(location))"
        case .exposure(let p):
            return
                "\(location): \(fixed(p.exposure.rest, 0)) s at rest, \(fixed(p.exposure.active, 0)) s active, \(fixed(p.exposure.notWorn, 0)) s not worn, \(fixed(p.exposure.gap, 0)) s without samples"
        }
    }

    /// One JSON object on one line (no trailing newline), as served on the event socket.
    public var jsonLine: String {
        var s = "{\"type\":\"\(typeName)\",\"seq\":\(seq),\"location\":\(jsonString(location))"
        s += ",\"sensor\":\(jsonString(sensor))"
        let prefix = {
            if case .twitch = kind { return "onset" }
            return "time"
        }()
        s += ",\"\(prefix)_monotonic_usec\":\(monotonicUsec),\"\(prefix)_realtime_usec\":\(realtimeUsec)"
        switch kind {
        case .twitch(let t):
            // The decimals of docs/event.schema.json, the same as replay's and the journal's.
            s += ",\"duration_ms\":\(fixed(t.durationMs, 1)),\"peak_mg\":\(fixed(t.peakMg, 2))"
            s += ",\"axis\":\"\(t.axis.rawValue)\",\"freq_hz\":\(fixed(t.frequencyHz, 1))"
            s += ",\"snr\":\(fixed(t.snr, 1)),\"confidence\":\(fixed(t.confidence, 2))"
        case .state(let state):
            s += ",\"state\":\"\(state.rawValue)\""
        case .sensorLost(let detail):
            s += ",\"detail\":\(jsonString(detail))"
        case .sensorBack:
            break
        case .overrun(let n, let stage):
            s += ",\"lost_samples\":\(n),\"stage\":\"\(stage)\""
        case .exposure(let p):
            s += ",\"start_realtime_usec\":\(p.startRealtimeUsec),\"rest_s\":\(fixed(p.exposure.rest, 3))"
            s += ",\"active_s\":\(fixed(p.exposure.active, 3)),\"not_worn_s\":\(fixed(p.exposure.notWorn, 3))"
            s += ",\"gap_s\":\(fixed(p.exposure.gap, 3)),\"lost_samples\":\(p.samplesLost)"
        }
        s += ",\"emitted_monotonic_usec\":\(emittedMonotonicUsec)}"
        return s
    }
}
