/// How long a limb was observed in each condition: the denominator of every twitch rate.
///
/// A rate is twitches per hour of worn rest (`rest`). Time when the limb moved (`active`), the
/// sensor was probably lying off the body (`notWorn`) or no samples arrived at all (`gap`: a hole
/// in a file, a sensor lost in the daemon) is not rest and never enters a rate.
public struct Exposure: Sendable, Equatable, Codable {
    /// Seconds at worn rest: twitches are counted.
    public var rest: Double
    /// Seconds of movement: twitches cannot be told from it and are not counted.
    public var active: Double
    /// Seconds the sensor was probably not on a limb.
    public var notWorn: Double
    /// Seconds with no samples.
    public var gap: Double

    public init(rest: Double = 0, active: Double = 0, notWorn: Double = 0, gap: Double = 0) {
        self.rest = rest
        self.active = active
        self.notWorn = notWorn
        self.gap = gap
    }

    /// All observed and unobserved time together.
    public var total: Double { rest + active + notWorn + gap }

    /// Twitches per hour of worn rest, or nil when there is under `minimumRest` seconds of rest
    /// (a rate from a few seconds is noise, not a number to print).
    public func ratePerHourOfRest(_ twitches: Int, minimumRest: Double = 60) -> Double? {
        guard rest >= minimumRest, rest.isFinite else { return nil }
        return Double(twitches) / (rest / 3600)
    }

    public static func + (a: Exposure, b: Exposure) -> Exposure {
        Exposure(
            rest: a.rest + b.rest, active: a.active + b.active, notWorn: a.notWorn + b.notWorn,
            gap: a.gap + b.gap)
    }

    public static func += (a: inout Exposure, b: Exposure) { a = a + b }
}

/// Adds up an ``Exposure`` from a stream of limb-state changes and gaps, on the samples' time base.
///
/// Feed it every state change and every gap in time order; time between events is charged to the
/// state in force. A gap is charged to `gap` and the state resumes after it. Times that go
/// backwards are charged nothing (never negative time).
public struct ExposureCounter: Sendable, Equatable {
    public private(set) var exposure = Exposure()
    /// The state time is being charged to.
    public private(set) var state: LimbState
    /// Up to when time has been charged.
    public private(set) var since: Double

    public init(state: LimbState = .rest, at time: Double = 0) {
        self.state = state
        since = time
    }

    /// The limb changed to `new` at `time`.
    public mutating func change(to new: LimbState, at time: Double) {
        charge(until: time)
        state = new
    }

    /// No samples from `start` to `end`.
    public mutating func gap(from start: Double, to end: Double) {
        charge(until: start)
        guard end.isFinite, end > since else { return }
        exposure.gap += end - since
        since = end
    }

    /// Charges the time up to `time` to the current state (the end of a file, a periodic report).
    public mutating func charge(until time: Double) {
        guard time.isFinite, time > since else { return }
        let d = time - since
        switch state {
        case .rest: exposure.rest += d
        case .active: exposure.active += d
        case .notWorn: exposure.notWorn += d
        }
        since = time
    }

    /// Returns what was charged so far and starts counting again from zero (for periodic entries).
    public mutating func take() -> Exposure {
        defer { exposure = Exposure() }
        return exposure
    }
}
