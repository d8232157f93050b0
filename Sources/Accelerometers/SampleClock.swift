/// Reconstructs sample times from interrupt/read times and FIFO levels, and measures the chip's
/// true output rate against the system clock.
///
/// Each read gives an anchor: the index of the newest sample in the FIFO and a time. An interrupt
/// edge at the watermark (or a data-ready pulse) gives an exact anchor: that sample was produced
/// then. A poll gives a window: the newest sample was produced during the last period before the
/// read. The period is the least-squares slope over anchors kept at least 250 ms apart (about
/// 16 s of history; polled ones centred half a period early). Sample times are extrapolated from
/// a reference sample near the latest anchor, so an error in the period is multiplied only by the
/// distance from it; successive polled windows, carried forward by the period, are intersected
/// to pin the reference down. Fixed storage: no allocation after init.
struct SampleClock {
    private static let capacity = 64
    private static let spacingNs: UInt64 = 250_000_000

    let nominalPeriodNs: Double
    /// Current period estimate in ns.
    private(set) var periodNs: Double
    private var ringN = [Double](repeating: 0, count: capacity)
    private var ringT = [Double](repeating: 0, count: capacity)
    private var ringCount = 0
    private var ringHead = 0
    private var lastStoredT: UInt64 = 0

    /// Time origin, so Double arithmetic stays exact to well under a nanosecond.
    private var baseT: UInt64 = 0
    private var baseN: UInt64 = 0
    private var started = false
    private var fitted = false
    /// The reference sample: index (relative to baseN) and the window its time lies in
    /// (relative to baseT). Times of other samples are extrapolated from it with the period, so
    /// an error in the period is multiplied only by the distance from the latest anchor.
    private var refN: Double = 0
    private var refLo: Double = 0
    private var refHi: Double = 0
    private var phaseValid = false

    init(nominalRateHz: Double) {
        nominalPeriodNs = 1e9 / nominalRateHz
        periodNs = nominalPeriodNs
    }

    /// Whether at least one anchor has been seen since the last reset.
    var hasPhase: Bool { phaseValid }

    /// Measured output rate in Hz.
    var rateHz: Double { 1e9 / periodNs }

    /// Forgets the phase and anchors (after a reconfiguration) but keeps the period estimate:
    /// the chip's oscillator has not changed.
    mutating func resetPhase() {
        ringCount = 0
        ringHead = 0
        phaseValid = false
        started = false
    }

    /// Records that sample `index` was produced exactly at `timeNs` (an interrupt edge), or, when
    /// `exact` is false, that the newest sample was `index` when the FIFO was read at `timeNs`.
    mutating func anchor(index: UInt64, timeNs: UInt64, exact: Bool) {
        if !started {
            started = true
            baseT = timeNs
            baseN = index
        }
        let n = Double(Int64(bitPattern: index &- baseN))
        let t = Double(Int64(bitPattern: timeNs &- baseT))
        // Period: least squares over decimated anchors (polled ones centred half a period early).
        if ringCount == 0 || timeNs &- lastStoredT >= Self.spacingNs {
            ringN[ringHead] = n
            ringT[ringHead] = exact ? t : t - periodNs / 2
            ringHead = (ringHead + 1) % Self.capacity
            ringCount = min(ringCount + 1, Self.capacity)
            lastStoredT = timeNs
            refitPeriod()
        }
        // This anchor's window for sample n.
        let lo = exact ? t : t - periodNs
        let hi = t
        if exact || !phaseValid {
            refN = n
            refLo = lo
            refHi = hi
            phaseValid = true
            return
        }
        // Carry the previous window forward to n, widened by the period's uncertainty, and
        // intersect: successive polls narrow down where the samples really fall.
        let dn = abs(n - refN)
        let slack = dn * periodNs * (fitted ? 5e-4 : 0.04) + 1000
        let plo = refLo + (n - refN) * periodNs - slack
        let phi = refHi + (n - refN) * periodNs + slack
        let nlo = max(plo, lo)
        let nhi = min(phi, hi)
        refN = n
        if nlo <= nhi {
            refLo = nlo
            refHi = nhi
        } else {
            // The prediction missed this window: move to the part of it nearest the prediction,
            // so the timeline shifts as little as the evidence allows.
            let w = min(periodNs, phi - plo)
            if plo > hi {
                refLo = hi - w
                refHi = hi
            } else {
                refLo = lo
                refHi = lo + w
            }
            refLo = max(refLo, lo)
            refHi = min(refHi, hi)
        }
    }

    private mutating func refitPeriod() {
        guard ringCount >= 2 else { return }
        var sn = 0.0
        var st = 0.0
        for i in 0..<ringCount {
            sn += ringN[i]
            st += ringT[i]
        }
        let mn = sn / Double(ringCount)
        let mt = st / Double(ringCount)
        var snn = 0.0
        var snt = 0.0
        var minN = Double.infinity
        var maxN = -Double.infinity
        for i in 0..<ringCount {
            let dn = ringN[i] - mn
            snn += dn * dn
            snt += dn * (ringT[i] - mt)
            minN = min(minN, ringN[i])
            maxN = max(maxN, ringN[i])
        }
        // Need a span of at least ~200 ms worth of samples before trusting the slope.
        guard snn > 0, (maxN - minN) * nominalPeriodNs >= 2e8 else { return }
        let p = snt / snn
        // Oscillators are a few percent off, never 15 %: reject nonsense from a glitch.
        if p.isFinite, p > nominalPeriodNs * 0.85, p < nominalPeriodNs * 1.15 {
            periodNs = p
            fitted = true
        }
    }

    /// The monotonic time of sample `index`.
    func time(of index: UInt64) -> UInt64 {
        let n = Double(Int64(bitPattern: index &- baseN))
        let t = (refLo + refHi) / 2 + (n - refN) * periodNs
        return t >= 0 ? baseT &+ UInt64(t.rounded()) : baseT &- UInt64((-t).rounded())
    }

    /// The index of the newest sample produced at or before `timeNs`.
    func newestIndex(at timeNs: UInt64) -> UInt64 {
        let t = Double(Int64(bitPattern: timeNs &- baseT))
        let n = refN + ((t - (refLo + refHi) / 2) / periodNs).rounded(.down)
        return baseN &+ UInt64(bitPattern: Int64(n))
    }
}
