import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The detector after resampling: one call per point of the uniform internal grid.
struct DetectorCore: Sendable {
    let rate: Double
    let location: String
    let triggerRatio: Double
    /// Build and emit a ``CandidateReport`` for every candidate.
    let explain: Bool

    let envAlpha: Double
    let floorAlpha: Double
    let warmFloorAlpha: Double
    let gravityAlpha: Double
    let movementAlpha: Double
    let activeGravityAlpha: Double
    let splitHoldDecay: Double
    var movementEnergy = 0.0
    var movementSince = Double.infinity
    /// The noise floor as it was when the limb was last at rest, mg.
    var restFloorMg = 0.0
    /// Peak movement over the last few seconds (decaying), mg.
    var recentMovement = 0.0
    let recentDecay: Double
    /// Typical movement reading at rest (sensor noise, breathing, pulse), mg.
    var movementBaseline = 0.0
    let baselineAlpha: Double
    let baselineDownAlpha: Double

    var bandHP: Biquad
    var bandLP: Biquad
    var upperHP: Biquad
    var topHP: Biquad
    var knockHP: Biquad
    var moveLP: Biquad
    var gravity = SIMD4<Double>.zero
    /// Gravity averaged over the last `settleTau`: the orientation after a candidate.
    var settled = SIMD4<Double>.zero
    let settleAlpha: Double
    /// Noise part of the orientation comparison, per unit of per-axis noise density (g^2/Hz):
    /// 3 axes x (1 / 4 tau) for each of the two one-pole averages compared.
    let orientationNoiseGain: Double
    /// Micro-motion (not-worn) measurement: the current block's sum of the slow movement energy
    /// (mg^2) and its step count, how many still blocks in a row showed no motion beyond noise,
    /// and where the first of them started.
    var microSum = 0.0
    /// Step index at which the current block ends.
    var microBlockEnd = 0
    let microBlockSteps: Int
    var microQuiet = 0
    /// Whether the last block's noise let the micro-motion rule decide (then the slow rule,
    /// which would call a still but breathing limb not worn, stays out of it).
    var microDecides = false
    var microQuietStart = 0.0
    var microBlockStart = 0.0
    /// White noise's energy in the slow movement signal over its energy in the knock band.
    let microNoiseRatio: Double

    var primed = false
    var startTime = 0.0
    /// Envelopes (energies) of the twitch bands: whole, upper, top and low sub-bands.
    var env = SIMD4<Double>.zero
    /// Their noise floors (energies), same order.
    var floors = SIMD4<Double>.zero
    /// Weights of the bands' envelope-over-floor ratios in the trigger.
    let bandWeights = SIMD4<Double>(1, 1, Tuning.subBandScale, Tuning.subBandScale)
    var envEnergy: Double { env[0] }
    var floorEnergy: Double { floors[0] }
    var knockEnergy = 0.0
    var knockFloorEnergy = 0.0
    /// The upper band's floor at its quietest lately: follows it down at once, up slowly.
    var quietUpperFloor = 0.0
    /// Movement candidates lately, decaying with `restlessTau`, as of `movementCountTime`.
    var movementCount = 0.0
    var movementCountTime = 0.0
    let quietAlpha: Double

    private(set) var state: LimbState = .rest
    /// When the limb last came to rest after moving.
    var restSince = -Double.infinity
    /// The last `fidgetMovements` times the limb started moving, a ring (oldest at the head).
    var activeOnsets = SIMD4<Double>(repeating: -Double.infinity)
    var activeOnsetHead = 0
    var lastMovement = -Double.infinity
    var stillReference = SIMD4<Double>.zero
    var stillSince = 0.0
    /// Time of the last state change reported.
    var lastChange = -Double.infinity

    var lastQuiet = 0.0
    var lastQuietIndex = 0
    /// Internal steps since the start; indexes the shape ring.
    var stepIndex = 0
    /// `stepIndex % shapeCapacity`, kept without a division per step.
    var shapePosition = 0
    let shapeCapacity: Int
    /// The open candidate. Assigned only with `hasCandidate` kept equal to `candidate != nil`
    /// (a stored flag: reading the optional's tag of so large a value costs more, and a
    /// `didSet` would make every in-place change of it allocate).
    var candidate: Candidate?
    var hasCandidate = false
    /// A candidate ran too long; no new one until the envelope is back near the floor.
    var sustained = false
    var wasQuiet = false
    var quietSince = 0.0
    /// The ringing tail of the last candidate: for `tailWindow` after it closed, a new one must
    /// rise above the level at which the last one was let go.
    var tailStart = -Double.infinity
    var tailLevel = 0.0
    /// Squared magnitude of the 9 Hz high-passed acceleration since the candidate triggered: a
    /// fixed ring sized at init for the longest candidate, used to measure its sharpness.
    var shape: ContiguousArray<Double>
    /// Twitches waiting out the confirm delay, oldest first.
    var pending: PendingRing

    /// Running measurements of an open candidate.
    struct Candidate {
        var onset: Double
        var lastLoud: Double
        var onsetIndex = 0
        var lastLoudIndex = 0
        var floorEnergy: Double
        var knockFloorEnergy = 0.0
        var recentMovement = 0.0
        var movementBaseline = 0.0
        /// Whole-band floor over upper-band floor when the candidate opened.
        var tremorIndex: Double
        /// Peak envelope over floor (energies), in the whole band and in the upper band.
        var peakRatio = 0.0
        var peakUpperRatio = 0.0
        var peakEnvelope = 0.0
        var peakKnock = 0.0
        var peakVector = 0.0
        var axisEnergy = SIMD4<Double>.zero
        /// The band signal's cross products (xy, xz, yz): with `axisEnergy`, its covariance.
        var crossEnergy = SIMD4<Double>.zero
        /// Steps accumulated into `axisEnergy`.
        var steps = 0.0
        /// `axisEnergy`, `crossEnergy` and `steps` as of the last loud step: the twitch itself,
        /// without the quiet tail that ends it.
        var loudAxisEnergy = SIMD4<Double>.zero
        var loudCrossEnergy = SIMD4<Double>.zero
        var loudSteps = 0.0
        /// Per axis: +1 or -1 once the band signal has gone beyond the hysteresis, else 0.
        var polarity = SIMD4<Double>.zero
        var crossings = SIMD4<Double>.zero
        var firstCrossing = SIMD4<Double>(repeating: -1)
        var lastCrossing = SIMD4<Double>.zero
        /// Per band: peak follower of the envelope-over-floor (energy); whether it has started
        /// to fall (1) or not (0); its lowest value since then, and where (time, step).
        var follower = SIMD4<Double>.zero
        var falling = SIMD4<Double>.zero
        var trough = SIMD4<Double>.zero
        var troughTime = SIMD4<Double>.zero
        var troughIndex = SIMD4<Int>.zero
        /// Opened by splitting the candidate before it.
        var splitFrom = false
        /// Gravity when it opened: the orientation before it.
        var gravityBefore = SIMD4<Double>.zero
        /// Upper-band floor over its quiet level when it opened.
        var elevation = 1.0
    }

    init(rate: Double, sensitivity: Double, location: String, explain: Bool = false) {
        self.rate = rate
        self.location = location
        self.explain = explain
        triggerRatio = Tuning.triggerAtZero * pow(Tuning.triggerAtOne / Tuning.triggerAtZero, sensitivity)
        envAlpha = onePoleAlpha(tau: Tuning.envelopeTau, rate: rate)
        floorAlpha = onePoleAlpha(tau: Tuning.floorTau, rate: rate)
        warmFloorAlpha = onePoleAlpha(tau: Tuning.warmFloorTau, rate: rate)
        gravityAlpha = onePoleAlpha(tau: Tuning.gravityTau, rate: rate)
        movementAlpha = onePoleAlpha(tau: Tuning.movementTau, rate: rate)
        activeGravityAlpha = onePoleAlpha(tau: Tuning.activeGravityTau, rate: rate)
        splitHoldDecay = 1 - onePoleAlpha(tau: Tuning.splitHoldTau, rate: rate)
        recentDecay = 1 - onePoleAlpha(tau: 2.0, rate: rate)
        baselineAlpha = onePoleAlpha(tau: 60.0, rate: rate)
        baselineDownAlpha = onePoleAlpha(tau: 5.0, rate: rate)
        quietAlpha = onePoleAlpha(tau: Tuning.quietFloorTau, rate: rate)
        bandHP = Biquad(.highPass, cutoff: Tuning.bandLow, rate: rate)
        bandLP = Biquad(.lowPass, cutoff: Tuning.bandHigh, rate: rate)
        upperHP = Biquad(.highPass, cutoff: Tuning.upperBandLow, rate: rate)
        topHP = Biquad(.highPass, cutoff: Tuning.topBandLow, rate: rate)
        knockHP = Biquad(.highPass, cutoff: min(Tuning.knockBand, 0.35 * rate), rate: rate)
        moveLP = Biquad(.lowPass, cutoff: Tuning.movementLowPass, rate: rate)
        let capacity =
            Int(((Tuning.maxDuration + Tuning.mergeGap + Tuning.shapeLead) * rate).rounded(.up)) + 2
        shape = ContiguousArray(repeating: 0, count: capacity)
        pending = PendingRing(capacity: Tuning.pendingCapacity, location: location)
        shapeCapacity = capacity
        settleAlpha = onePoleAlpha(tau: Tuning.settleTau, rate: rate)
        orientationNoiseGain = 3 * (1 / (4 * Tuning.gravityTau) + 1 / (4 * Tuning.settleTau))
        microBlockSteps = max(1, Int((Tuning.microBlock * rate).rounded()))
        microNoiseRatio = DetectorCore.noiseBandwidthRatio(
            slow: moveLP, gravityAlpha: gravityAlpha, knock: knockHP, rate: rate)
    }

    /// White noise's energy in the slow movement signal (the 1.5 Hz low-pass minus the one-pole
    /// gravity estimate) over its energy in the knock band: the ratio of their noise
    /// bandwidths, integrated numerically from the filters' responses (once, at init).
    static func noiseBandwidthRatio(slow: Biquad, gravityAlpha: Double, knock: Biquad, rate: Double) -> Double
    {
        // The slow band is all below a few Hz: a fine grid up to 20 Hz for it, a coarse one over
        // the whole band for the knock band (both per Hz, so the ratio is of integrals).
        let nyquist = rate / 2
        let slowTop = min(20, nyquist)
        let n = 800
        var slowSum = 0.0
        var knockSum = 0.0
        for k in 1..<n {
            let f = Double(k) / Double(n) * slowTop
            let w = 2 * Double.pi * f / rate
            let (lr, li) = slow.response(at: f, rate: rate)
            // One-pole y += (x - y) a: H = a / (1 - (1 - a) e^-jw).
            let dr = 1 - (1 - gravityAlpha) * cos(w)
            let di = (1 - gravityAlpha) * sin(w)
            let d2 = dr * dr + di * di
            let gr = gravityAlpha * dr / d2
            let gi = -gravityAlpha * di / d2
            let er = lr - gr
            let ei = li - gi
            slowSum += (er * er + ei * ei) * slowTop / Double(n)
        }
        let m = 400
        for k in 1..<m {
            let g = knock.magnitude(at: Double(k) / Double(m) * nyquist, rate: rate)
            knockSum += g * g * nyquist / Double(m)
        }
        return knockSum > 0 ? slowSum / knockSum : 0
    }

    var noiseFloorMg: Double { floorEnergy.squareRoot() * 1000 }

    /// Starts over after a gap in the input: filters re-prime, the floor is kept.
    mutating func restart() {
        primed = false
        candidate = nil
        hasCandidate = false
    }

    /// One step of the internal grid: filters, floors, limb state, held twitches, candidates.
    @inline(__always)
    mutating func step(time t: Double, _ a: SIMD4<Double>, _ emit: (DetectorOutput) -> Void) {
        if !primed { prime(time: t, a) }
        let m = measure(a)
        let warming = t - startTime < Tuning.warmup
        let floor = updateFloors(m, warming: warming)
        updateMovement(time: t, movementMg: m.movementMg, floor: floor)
        updateState(time: t, warming: warming, emit)
        // Pending twitches: reported once the limb has stayed at rest a little after them.
        advancePending(time: t, movementMg: m.movementMg, emit)
        // Candidates: follow the open one (closing, splitting or dropping it) or open a new one.
        let atRest = state != .active && !warming
        let e = m.e
        let safeFloors = lanewiseMax(floors, 1e-12)
        // The narrower sub-bands match a twitch's own bandwidth better (less noise with the same
        // signal); as extra chances for noise to stand out they are held to a slightly higher bar.
        let ratios = env / safeFloors * bandWeights
        let wideRatio = ratios[0]
        let upperRatio = max(ratios[1], ratios[2], ratios[3])
        let ratio2 = max(wideRatio, upperRatio)
        if hasCandidate {
            if !atRest {
                candidate = nil
                hasCandidate = false
                return
            }
            // In place (optional chaining mutates the stored candidate without copying it).
            let envelope = envEnergy
            let knock = knockEnergy
            let index = stepIndex
            let trigger2 = triggerRatio * triggerRatio
            let decay = splitHoldDecay
            candidate?.accumulate(
                time: t, m.band, e: m.e, ratios: ratios, envelope: envelope, knock: knock, stepIndex: index)
            let splitBand =
                candidate?.findSplit(
                    time: t, ratios: ratios, decay: decay, trigger2: trigger2, stepIndex: index)
                ?? -1
            guard let lastLoud = candidate?.lastLoud, let onset = candidate?.onset else { return }
            if splitBand >= 0, var c = candidate {
                let splitOnset = c.troughTime[splitBand]
                let splitIndex = c.troughIndex[splitBand]
                c.lastLoud = splitOnset
                c.lastLoudIndex = splitIndex
                candidate = nil
                hasCandidate = false
                close(c, now: t, emit)
                if state != .active {
                    var next = openCandidate(
                        at: t, onset: splitOnset, onsetIndex: splitIndex, ratios: ratios, e: e)
                    next.splitFrom = true
                    candidate = next
                    hasCandidate = true
                }
            } else if t - lastLoud >= Tuning.mergeGap, let c = candidate {
                candidate = nil
                hasCandidate = false
                close(c, now: t, emit)
            } else if t - onset > Tuning.maxDuration, let c = candidate {
                endSustained(c, time: t, emit)
            }
        } else if atRest {
            let onset2 = Tuning.onsetRatio * Tuning.onsetRatio
            if ratio2 >= onset2 { wasQuiet = false }
            if ratio2 < onset2 {
                if !wasQuiet { quietSince = t }
                wasQuiet = true
                lastQuiet = t
                lastQuietIndex = stepIndex
                // Released only after a whole slow cycle of quiet, not in the dip between two
                // swings of the same oscillation.
                if t - quietSince >= Tuning.sustainedRelease { sustained = false }
            } else if !sustained, ratio2 >= triggerRatio * triggerRatio,
                t - tailStart >= Tuning.tailWindow || ratio2 >= tailLevel
            {
                candidate = openCandidate(
                    at: t, onset: lastQuiet, onsetIndex: lastQuietIndex, ratios: ratios, e: e)
                hasCandidate = true
            }
        } else {
            lastQuiet = t
            lastQuietIndex = stepIndex
        }
    }

    /// What one step measures, for the stages after the filters.
    struct Measures {
        /// The 9-40 Hz band signal and its energy (three axes).
        var band: SIMD4<Double>
        var e: Double
        /// Energies of the whole, upper, top and low bands, and of the knock band.
        var energies: SIMD4<Double>
        var eh: Double
        /// Slow movement (0-1.5 Hz deviation from gravity), mg RMS.
        var movementMg: Double
    }

    /// Starts the filters on the first sample after a (re)start.
    mutating func prime(time t: Double, _ a: SIMD4<Double>) {
        primed = true
        primed = true
        startTime = t
        bandHP.prime(a)
        bandLP.prime(.zero)
        upperHP.prime(.zero)
        topHP.prime(.zero)
        knockHP.prime(a)
        moveLP.prime(a)
        gravity = a
        settled = a
        microSum = 0
        microBlockEnd = stepIndex &+ microBlockSteps
        microQuiet = 0
        movementEnergy = 0
        movementSince = .infinity
        stillReference = a
        stillSince = t
        lastQuiet = t
        lastQuietIndex = stepIndex
    }

    /// Filters, envelopes, gravity, the shape ring and the slow movement.
    @inline(__always)
    mutating func measure(_ a: SIMD4<Double>) -> Measures {
        let hp = bandHP.step(a)
        let band = bandLP.step(hp)
        stepIndex &+= 1
        shapePosition += 1
        if shapePosition == shapeCapacity { shapePosition = 0 }
        let m2 = norm2(hp)
        let position = shapePosition
        shape.withUnsafeMutableBufferPointer { $0[position] = m2 }
        let upper = upperHP.step(band)
        let top = topHP.step(upper)
        // The part of the band below the upper band: its complement, without another filter.
        let low = band - upper
        let high = knockHP.step(a)
        let slow = moveLP.step(a)
        gravity += (a - gravity) * (state == .active ? activeGravityAlpha : gravityAlpha)
        let e = norm2(band)
        let eh = norm2(high)
        let energies = SIMD4(e, norm2(upper), norm2(top), norm2(low))
        env += (energies - env) * envAlpha
        knockEnergy += (eh - knockEnergy) * envAlpha
        settled += (a - settled) * settleAlpha
        let dev = (slow - gravity) * 1000
        let dev2 = norm2(dev)
        movementEnergy += (dev2 - movementEnergy) * movementAlpha
        microSum += dev2
        let movementMg = movementEnergy.squareRoot()
        // Clipped at a few times the movement threshold: a limb that has just stopped walking
        // is still settling for a few seconds, but not for as long as the walk was vigorous.
        recentMovement = max(
            min(movementMg, Tuning.unsettledClip * Tuning.movementOn), recentMovement * recentDecay)

        return Measures(band: band, e: e, energies: energies, eh: eh, movementMg: movementMg)
    }

    /// The movement baseline and the noise floors (frozen inside a candidate and while active);
    /// returns the whole band's floor (energy, never zero).
    @inline(__always)
    mutating func updateFloors(_ m: Measures, warming: Bool) -> Double {
        let movementMg = m.movementMg
        let energies = m.energies
        let eh = m.eh
        if state != .active {
            // A low-quantile tracker: falls quickly, rises slowly, so intermittent small
            // movements do not pull it up.
            if warming {
                movementBaseline += (movementMg - movementBaseline) * warmFloorAlpha
            } else if movementMg < movementBaseline {
                movementBaseline += (movementMg - movementBaseline) * baselineDownAlpha
            } else {
                movementBaseline +=
                    (min(movementMg, 2 * movementBaseline + 0.05) - movementBaseline) * baselineAlpha
            }
        }
        // Noise floor: clipped slow average, frozen inside a candidate.
        if !hasCandidate, state != .active {
            if warming {
                floors += (energies - floors) * warmFloorAlpha
                knockFloorEnergy += (eh - knockFloorEnergy) * warmFloorAlpha
                quietUpperFloor = floors[1]
            } else {
                floors += (lanewiseMin(energies, floors * Tuning.floorClip) - floors) * floorAlpha
                knockFloorEnergy +=
                    (min(eh, Tuning.floorClip * knockFloorEnergy) - knockFloorEnergy) * floorAlpha
                quietUpperFloor =
                    floors[1] < quietUpperFloor
                    ? floors[1] : quietUpperFloor + (floors[1] - quietUpperFloor) * quietAlpha
            }
        }
        return max(floors[0], 1e-12)

    }

    /// Movement above the threshold long enough (or large enough at once) marks the limb moving.
    @inline(__always)
    mutating func updateMovement(time t: Double, movementMg: Double, floor: Double) {
        if state != .active { restFloorMg = floor.squareRoot() * 1000 }
        let movementOn = max(Tuning.movementOn, Tuning.movementOverFloor * restFloorMg)
        if movementMg > movementOn {
            movementSince = min(movementSince, t)
            if t - movementSince >= Tuning.movementPersist
                || movementMg > movementOn * Tuning.movementBurst
            {
                lastMovement = t
            }
        } else {
            movementSince = .infinity
        }

    }

    /// A candidate still loud after `maxDuration`: vibration or tremor. Waits for quiet again.
    mutating func endSustained(_ c: Candidate, time t: Double, _ emit: (DetectorOutput) -> Void) {
        candidate = nil
        hasCandidate = false
        sustained = true
        if c.splitFrom, !pending.isEmpty, pending.newest.end == c.onset {
            // Split from a twitch just before it: that was the start of the same
            // waxing vibration or tremor, not a twitch of its own.
            let newest = pending.newest
            pending.dropNewest()
            noteMovements(1, at: t)
            if explain {
                var report = newest.report
                report.verdict = .sustained
                emit(.candidate(report))
            }
        }
        noteMovements(1, at: t)
        if explain {
            emit(
                .candidate(
                    CandidateReport(
                        onset: c.onset, duration: t - c.onset,
                        peakMg: c.peakVector.squareRoot() * 1000,
                        snr: max(c.peakRatio, c.peakUpperRatio).squareRoot(),
                        floorMg: c.floorEnergy.squareRoot() * 1000, tremorIndex: c.tremorIndex,
                        verdict: .sustained)))
        }
        lastQuiet = t
        lastQuietIndex = stepIndex
    }

    @inline(__always)
    func peakRatio(_ c: Candidate) -> Double { max(c.peakRatio, c.peakUpperRatio) }

    /// A new candidate triggered at `t`, starting at `onset`.
    func openCandidate(
        at t: Double, onset: Double, onsetIndex: Int, ratios: SIMD4<Double>, e: Double
    ) -> Candidate {
        let wideRatio = ratios[0]
        let upperRatio = max(ratios[1], ratios[2], ratios[3])
        let floor = max(floors[0], 1e-12)
        var c = Candidate(
            onset: onset, lastLoud: t, floorEnergy: floor, tremorIndex: floor / max(floors[1], 1e-12))
        c.onsetIndex = onsetIndex
        c.lastLoudIndex = stepIndex
        c.knockFloorEnergy = knockFloorEnergy
        c.recentMovement = recentMovement
        c.movementBaseline = movementBaseline
        c.gravityBefore = gravity
        c.elevation = floors[1] / max(quietUpperFloor, 1e-18)
        c.peakEnvelope = envEnergy
        c.peakRatio = wideRatio
        c.peakUpperRatio = upperRatio
        c.peakKnock = knockEnergy
        c.peakVector = e
        c.follower = ratios
        c.trough = ratios
        c.troughTime = SIMD4(repeating: t)
        c.troughIndex = SIMD4(repeating: stepIndex)
        return c
    }

    @inline(__always)
    mutating func updateState(time t: Double, warming: Bool, _ emit: (DetectorOutput) -> Void) {
        let moving = t - lastMovement < Tuning.activeHold
        // Orientation drift for the not-worn timer: checked every 8 steps, plenty for minutes.
        if moving
            || (stepIndex & 7 == 0
                && norm2((gravity - stillReference) * 1000) > Tuning.stillMg * Tuning.stillMg)
        {
            stillReference = gravity
            stillSince = t
            microQuiet = 0
            microSum = 0
            microBlockEnd = stepIndex &+ microBlockSteps
            microBlockStart = t
        }
        if stepIndex >= microBlockEnd {
            // One block of stillness: did the limb move with breath and pulse beyond the noise?
            let mean = microSum / Double(microBlockSteps)
            let noise = microNoiseRatio * knockFloorEnergy * 1e6
            let gate = Tuning.microNoiseGateMg * Tuning.microNoiseGateMg
            microDecides = noise <= gate
            if !warming, microDecides, mean - noise < Tuning.wornMotionMg * Tuning.wornMotionMg {
                if microQuiet == 0 { microQuietStart = microBlockStart }
                microQuiet += 1
            } else {
                microQuiet = 0
            }
            microSum = 0
            microBlockEnd = stepIndex &+ microBlockSteps
            microBlockStart = t
        }
        let next: LimbState
        var since = t
        if moving {
            next = .active
        } else if microQuiet >= Tuning.microQuietBlocks {
            next = .notWorn
            // Not worn since the first motionless block, not since it was noticed.
            since = max(microQuietStart, lastChange)
        } else if !microDecides, t - stillSince >= Tuning.notWornAfter {
            next = .notWorn
        } else {
            next = .rest
        }
        if next != state {
            if next == .active {
                activeOnsets[activeOnsetHead] = since
                activeOnsetHead = activeOnsetHead + 1 == activeOnsets.scalarCount ? 0 : activeOnsetHead + 1
            } else if state == .active {
                restSince = since
            }
            state = next
            lastChange = since
            emit(.state(StateChange(time: since, state: next)))
        }
    }

    mutating func finish(_ emit: (DetectorOutput) -> Void) {
        if let c = candidate {
            // Closed as if the input had gone quiet; one still loud at the end is judged on
            // what was seen, and cannot pass as a twitch if it already ran too long.
            candidate = nil
            hasCandidate = false
            close(c, now: c.lastLoud + Tuning.mergeGap, emit)
        }
        while !pending.isEmpty { confirmOldestPending(emit) }
    }
}

extension DetectorCore.Candidate {
    /// Adds one step: half-cycles, axis energies and covariance, peaks, and whether it is
    /// still loud. `envelope` and `knock` are the whole band's and the knock band's envelopes.
    @inline(__always)
    mutating func accumulate(
        time t: Double, _ band: SIMD4<Double>, e: Double, ratios: SIMD4<Double>, envelope: Double,
        knock: Double, stepIndex: Int
    ) {
        let wideRatio = ratios[0]
        let upperRatio = max(ratios[1], ratios[2], ratios[3])
        let ratio2 = max(wideRatio, upperRatio)
        // Half-cycles, counted with hysteresis so noise near zero does not add any.
        let h = Tuning.crossingHysteresis * (floorEnergy / 3).squareRoot()
        for i in 0..<3 {
            let p: Double = band[i] > h ? 1 : (band[i] < -h ? -1 : 0)
            guard p != 0, p != polarity[i] else { continue }
            if polarity[i] != 0 {
                crossings[i] += 1
                lastCrossing[i] = t
            } else {
                firstCrossing[i] = t
            }
            polarity[i] = p
        }
        axisEnergy += band * band
        crossEnergy += SIMD4(band[0], band[0], band[1], 0) * SIMD4(band[1], band[2], band[2], 0)
        steps += 1
        peakEnvelope = max(peakEnvelope, envelope)
        peakRatio = max(peakRatio, wideRatio)
        peakUpperRatio = max(peakUpperRatio, upperRatio)
        peakKnock = max(peakKnock, knock)
        peakVector = max(peakVector, e)
        // Loud while above twice the floor and above a quarter of the candidate's own peak: a
        // large twitch ends when its ringing has died down relative to itself, not only when it
        // is back in the noise.
        let release = max(
            Tuning.releaseRatio * Tuning.releaseRatio, Tuning.releaseOfPeak2 * max(peakRatio, peakUpperRatio))
        if ratio2 >= release {
            lastLoud = t
            lastLoudIndex = stepIndex
            loudAxisEnergy = axisEnergy
            loudCrossEnergy = crossEnergy
            loudSteps = steps
        }
    }

    /// The band in which a new twitch rises out of the ringing of this one, or -1: a peak
    /// follower of each band's envelope-over-floor (`decay` per step) rising to `splitRise`
    /// times its lowest value since the first peak, above the trigger (`trigger2`, energy).
    @inline(__always)
    mutating func findSplit(
        time t: Double, ratios: SIMD4<Double>, decay: Double, trigger2: Double, stepIndex: Int
    ) -> Int {
        // Each band on its own: a new twitch at another frequency than the last rises in another
        // band than the one the last is ringing in.
        var splitBand = -1
        for i in 0..<4 {
            let decayed = follower[i] * decay
            if ratios[i] < decayed { falling[i] = 1 }
            follower[i] = max(ratios[i], decayed)
            if falling[i] == 0 || follower[i] < trough[i] {
                trough[i] = follower[i]
                troughTime[i] = t
                troughIndex[i] = stepIndex
            } else if follower[i] >= Tuning.splitRise * trough[i], ratios[i] >= trigger2,
                troughTime[i] - onset >= Tuning.splitAfter
            {
                splitBand = i
            }
        }
        return splitBand
    }
}
