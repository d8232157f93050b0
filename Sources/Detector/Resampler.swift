// Puts input samples onto the detector's uniform internal grid.
//
// Fast sensors are first averaged in blocks of `factor` samples (a box-car anti-alias filter
// with nulls at multiples of the internal rate), then the averaged stream is linearly
// interpolated onto a grid with a fixed period. Irregular timestamps (phone logging jitter,
// dropped samples) therefore land on the same grid as regular ones. Pure and allocation-free.

struct Resampler: Sendable {
    /// Input samples averaged into one.
    let factor: Int
    /// Grid period in seconds.
    let period: Double
    /// Longest gap that is bridged by interpolation; longer gaps restart the grid.
    let maxGap: Double
    private let inverseFactor: Double

    private var accTime = 0.0
    private var accValue = SIMD4<Double>.zero
    private var accCount = 0
    private var lastInputTime = -Double.infinity

    private var hasPrevious = false
    private var prevTime = 0.0
    private var prevValue = SIMD4<Double>.zero
    private var gridOrigin = 0.0
    private var gridIndex: Int64 = 0

    init(inputRate: Double, targetRate: Double) {
        factor = max(1, Int((inputRate / targetRate).rounded(.down)))
        period = Double(factor) / inputRate
        maxGap = max(0.25, 8 * period)
        inverseFactor = 1 / Double(factor)
    }

    /// What happened to one input sample.
    enum Feed {
        /// Not finite or not later than the previous sample: ignored.
        case rejected
        /// Accepted; grid points (if any) were delivered.
        case accepted
        /// Accepted after a gap too long to bridge: the grid restarted at this sample.
        case restarted
    }

    /// Feeds one input sample; steps `core` once for every grid point it completes.
    @inline(__always)
    mutating func feed(
        time: Double, value: SIMD4<Double>, into core: inout DetectorCore,
        _ emit: (DetectorOutput) -> Void
    ) -> Feed {
        guard time.isFinite, time > lastInputTime else { return .rejected }
        var result = Feed.accepted
        if time - lastInputTime > maxGap, lastInputTime > -Double.infinity {
            // Too long a hole: start afresh rather than invent data across it. It is reported
            // before anything after it, so exposure is charged in time order.
            emit(.gap(SampleGap(from: lastInputTime, to: time)))
            core.restart()
            hasPrevious = false
            accCount = 0
            accTime = 0
            accValue = .zero
            result = .restarted
        }
        lastInputTime = time
        accTime += time
        accValue += value
        accCount += 1
        guard accCount >= factor else { return result }
        let t = accTime * inverseFactor
        let v = accValue * inverseFactor
        accCount = 0
        accTime = 0
        accValue = .zero

        guard hasPrevious else {
            hasPrevious = true
            prevTime = t
            prevValue = v
            gridOrigin = t
            gridIndex = 1
            core.step(time: t, v, emit)
            return result
        }
        let span = t - prevTime
        if span > 0 {
            let inv = 1 / span
            var g = gridOrigin + Double(gridIndex) * period
            while g <= t {
                let w = (g - prevTime) * inv
                core.step(time: g, prevValue + (v - prevValue) * w, emit)
                gridIndex &+= 1
                g = gridOrigin + Double(gridIndex) * period
            }
        }
        prevTime = t
        prevValue = v
        return result
    }
}
