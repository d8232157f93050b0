import TwitchCore

/// A twitch waiting out the confirmation delay, with what its confirmation needs.
struct HeldTwitch: Sendable {
    var event: TwitchEvent
    /// When it stopped being loud: it is judged `confirmDelay` after this.
    var end: Double
    /// Gravity before its onset, and the noise floor (energy) it was measured on.
    var gravityBefore: SIMD4<Double>
    var floorEnergy: Double
    /// Peak slow movement since it closed, mg.
    var afterMovement: Double
    /// Its measurements, for the explanation.
    var report: CandidateReport
}

/// Twitches waiting out the confirmation delay, oldest first: a ring of fixed capacity, so a
/// burst is held (and confirmed or dropped) one by one and nothing is allocated per sample.
struct PendingRing: Sendable {
    private var slots: ContiguousArray<HeldTwitch>
    private var head = 0
    private(set) var count = 0

    init(capacity: Int, location: String) {
        let empty = HeldTwitch(
            event: TwitchEvent(
                onset: 0, durationMs: 0, peakMg: 0, axis: .x, frequencyHz: 0, snr: 0, confidence: 0,
                location: location),
            end: 0, gravityBefore: .zero, floorEnergy: 0, afterMovement: 0,
            report: CandidateReport(onset: 0, verdict: .twitch))
        slots = ContiguousArray(repeating: empty, count: capacity)
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == slots.count }
    /// The oldest held twitch; only when not empty.
    var oldest: HeldTwitch { slots[head] }
    /// The newest held twitch; only when not empty.
    var newest: HeldTwitch { slots[index(count - 1)] }

    @inline(__always)
    private func index(_ k: Int) -> Int {
        let i = head + k
        return i >= slots.count ? i - slots.count : i
    }

    /// Holds `twitch` (the caller makes room first when full).
    mutating func push(_ twitch: HeldTwitch) {
        slots[index(count)] = twitch
        count += 1
    }

    mutating func popOldest() -> HeldTwitch {
        let t = slots[head]
        head = index(1)
        count -= 1
        return t
    }

    mutating func dropNewest() { count -= 1 }

    /// Drops them all, oldest first, handing each to `body`.
    mutating func removeAll(_ body: (HeldTwitch) -> Void) {
        for k in 0..<count { body(slots[index(k)]) }
        count = 0
    }

    /// Raises every held twitch's peak slow movement since it closed to at least `mg`.
    @inline(__always)
    mutating func noteMovement(_ mg: Double) {
        var i = head
        for _ in 0..<count {
            if slots[i].afterMovement < mg { slots[i].afterMovement = mg }
            i = i + 1 == slots.count ? 0 : i + 1
        }
    }
}

// Twitches waiting out the confirmation delay.
extension DetectorCore {
    /// Held twitches, once per internal step: all dropped (`moved`) when the limb starts
    /// moving; otherwise those held `confirmDelay` are judged.
    @inline(__always)
    mutating func advancePending(time t: Double, movementMg: Double, _ emit: (DetectorOutput) -> Void) {
        guard !pending.isEmpty else { return }
        if state != .rest && state != .notWorn {
            noteMovements(pending.count, at: t)
            let explain = explain
            pending.removeAll { held in
                if explain {
                    var report = held.report
                    report.verdict = .moved
                    emit(.candidate(report))
                }
            }
        } else {
            pending.noteMovement(movementMg)
            while !pending.isEmpty, t - pending.oldest.end >= Tuning.confirmDelay {
                confirmOldestPending(emit)
            }
        }
    }

    /// Holds a twitch that passed every rule at its close, making room first if the ring is full.
    mutating func hold(_ twitch: HeldTwitch, _ emit: (DetectorOutput) -> Void) {
        if pending.isFull { confirmOldestPending(emit) }
        pending.push(twitch)
    }

    /// Judges the oldest held twitch now that `confirmDelay` has passed after it (or the ring is
    /// full): reported unless the limb is somewhere else than before it.
    mutating func confirmOldestPending(_ emit: (DetectorOutput) -> Void) {
        let held = pending.popOldest()
        // Orientation after (gravity over the last `settleTau`) against before (gravity at the
        // onset): the noise allowance is what the sensor's own noise gives that comparison.
        let change = (norm2(settled - held.gravityBefore)).squareRoot() * 1000
        let density = held.floorEnergy / (3 * Tuning.bandWidth)
        let noise = (density * orientationNoiseGain).squareRoot() * 1000
        let sway = Tuning.orientationOverSway * held.report.movementBaselineMg
        let limit = max(Tuning.orientationMg, Tuning.orientationNoise * noise, sway)
        var report = held.report
        report.orientationChangeMg = change
        report.afterMovementMg = held.afterMovement
        report.orientationLimitMg = limit
        if change > limit {
            report.verdict = .reoriented
            noteMovements(1, at: held.end + Tuning.confirmDelay)
        }
        if explain { emit(.candidate(report)) }
        if report.verdict == .twitch { emit(.twitch(held.event)) }
    }
}
