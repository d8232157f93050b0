import TwitchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Judging a closed candidate: its shape measures, the rules in the order they apply, and the
// movement count the context rules read.
extension DetectorCore {
    /// Measures of the high-passed magnitude over ring indices `first...last` (steps).
    struct ShapeStats {
        /// Largest squared magnitude: the twitch's peak without the band's low-pass, which
        /// rounds off the first, largest swing.
        var peak = 0.0
        /// Share of the energy in the two largest samples: near 1 for a spike (a knock seen by a
        /// slow sensor), well under for an oscillation.
        var concentration = 0.0
        /// Time, in s, spent above half the peak magnitude.
        var aboveHalf = 0.0
        /// `concentration` with the sensor's noise taken out of every sample (the mean over the
        /// quiet lead before the onset): near 1 when one or two samples carry all that stands
        /// out of the noise (a glitch, a tap seen by a slow sensor), however long the noise
        /// around them keeps the candidate open.
        var spikiness = 0.0
    }

    func shapeStats(first: Int, last: Int) -> ShapeStats {
        let n = shape.count
        let oldest = stepIndex - n + 1
        let start = max(first, last - n + 1, oldest)
        guard last >= start else { return ShapeStats() }
        // The sensor's noise in the same signal: the mean over the quiet lead before the onset.
        let leadSteps = Int((Tuning.spikeNoiseLead * rate).rounded())
        let leadStart = max(start - leadSteps, oldest)
        return shape.withUnsafeBufferPointer { buf in
            var top = 0.0
            var second = 0.0
            var total = 0.0
            for k in start...last {
                let v = buf[k % n]
                total += v
                if v > top {
                    second = top
                    top = v
                } else if v > second {
                    second = v
                }
            }
            var above = 0
            for k in start...last where buf[k % n] >= top / 4 { above += 1 }
            var noise = 0.0
            if leadStart < start {
                for k in leadStart..<start { noise += buf[k % n] }
                noise /= Double(start - leadStart)
            }
            let count = Double(last - start + 1)
            let excess = total - count * noise
            return ShapeStats(
                peak: top, concentration: total > 0 ? (top + second) / total : 0,
                aboveHalf: Double(above) / rate,
                spikiness: excess > 0 ? min(max((top + second - 2 * noise) / excess, 0), 1) : 0)
        }
    }

    /// Counts `n` movement candidates at time `t` into the decaying movement count.
    mutating func noteMovements(_ n: Int, at t: Double) {
        movementCount = movements(at: t) + Double(n)
        movementCountTime = max(t, movementCountTime)
    }

    /// The decaying count of movement candidates as of `t`.
    func movements(at t: Double) -> Double {
        movementCount * exp(-max(t - movementCountTime, 0) / Tuning.restlessTau)
    }

    /// Whether a dominant frequency `frequency` (from `halfCycles` half-cycles over `span` s of
    /// a stream at `rate` Hz) is a twitch's. The crossing times are known only to a sample, so
    /// it is too fast only if it still is with the span one sample longer: at 100 Hz one
    /// half-cycle between neighbouring samples reads 50 Hz, but may be a 25-35 Hz twitch.
    static func frequencyInRange(
        _ frequency: Double, halfCycles: Double, span: Double, rate: Double
    ) -> Bool {
        let slowest = halfCycles >= 1 ? halfCycles / (2 * (span + 1 / rate)) : frequency
        return frequency >= Tuning.minFrequency && slowest <= Tuning.maxFrequency
    }

    /// A closed candidate's measurements: the report (verdict not yet decided) and what the
    /// rules and the event need besides.
    struct Measured {
        var report: CandidateReport
        /// The axis with the most band energy (0, 1, 2) and the span of its half-cycles, s.
        var axisIndex: Int
        var crossingSpan: Double
        /// What the candidate's own frequency leaks into the knock band, allowed to a clearly
        /// ringing candidate (several half-cycles); 0 otherwise.
        var knockAllowance: Double
        var snr: Double { report.snr }
    }

    /// A verdict, and whether the candidate shows the limb itself moving (a knock or one larger
    /// than a motor unit makes), which makes the limb active.
    struct Classification {
        var verdict: CandidateVerdict
        var movesLimb = false
    }

    /// Measures a closed candidate ending at its last loud step.
    func measure(_ c: Candidate) -> Measured {
        let duration = c.lastLoud - c.onset
        let stats = shapeStats(first: c.onsetIndex, last: c.lastLoudIndex)
        var report = CandidateReport(
            onset: c.onset, duration: duration, peakMg: stats.peak.squareRoot() * 1000,
            snr: max(c.peakRatio, c.peakUpperRatio).squareRoot(), floorMg: c.floorEnergy.squareRoot() * 1000,
            concentration: stats.concentration, spikiness: stats.spikiness, tremorIndex: c.tremorIndex,
            floorElevation: c.elevation, recentMovementMg: c.recentMovement,
            movementBaselineMg: c.movementBaseline, verdict: .twitch)
        var axisIndex = 0
        for i in 1..<3 where c.axisEnergy[i] > c.axisEnergy[axisIndex] { axisIndex = i }
        let n = c.crossings[axisIndex]
        let span = max(c.lastCrossing[axisIndex] - c.firstCrossing[axisIndex], 0)
        // From the first excursion beyond the hysteresis on one side to the last beyond it on
        // either side: n half periods.
        let frequency = n >= 1 ? n / (2 * max(span, 1 / rate)) : 1 / (2 * max(duration, 1 / rate))
        report.frequency = frequency
        report.halfCycles = n
        let eigen = symmetricEigenvalues(c.loudAxisEnergy, c.loudCrossEnergy)
        let trace = eigen.0 + eigen.1 + eigen.2
        report.polarization = trace > 0 ? eigen.0 / trace : 1
        report.secondAxisOverNoise = eigen.1 / max(c.loudSteps * c.floorEnergy / 3, 1e-18)
        // Knock: broadband, so the high band carries far more than an oscillation at the
        // candidate's own frequency would put there.
        let expected =
            knockHP.magnitude(at: frequency, rate: rate)
            / max(
                bandHP.magnitude(at: frequency, rate: rate) * bandLP.magnitude(at: frequency, rate: rate),
                1e-9)
        // Both peaks above their own noise floors, so noise in the knock band does not make a
        // small twitch look like a knock.
        let knockRatio =
            (max(c.peakKnock - c.knockFloorEnergy, 0) / max(c.peakEnvelope - c.floorEnergy, 1e-12))
            .squareRoot()
        report.knockExcess = knockRatio / max(expected, 1e-9)
        report.knockRatio = knockRatio
        // A clearly ringing candidate is allowed what its own frequency leaks into the knock
        // band; that matters at low rates, where the bands are close.
        return Measured(
            report: report, axisIndex: axisIndex, crossingSpan: span,
            knockAllowance: n >= Tuning.ringingHalfCycles ? expected : 0)
    }

    /// The rules, in the order they apply, for a closed candidate at time `t`: the first it
    /// fails is its verdict (``CandidateVerdict``); `twitch` when it fails none (it is then held
    /// for the orientation check).
    func classify(_ c: Candidate, _ m: Measured, at t: Double) -> Classification {
        let report = m.report
        let snr = m.snr
        let duration = report.duration
        guard duration >= Tuning.minDuration, duration <= Tuning.maxDuration else {
            return Classification(verdict: .duration)
        }
        // A knock seen by a slow sensor is one or two samples: nearly all the energy in them.
        // The knock band must itself stand out of its own noise: a broadband burst does; a small
        // twitch near the floor, whose ratio is mostly noise over noise, does not.
        let knockVisible = c.peakKnock > Tuning.knockVisible * Tuning.knockVisible * c.knockFloorEnergy
        if knockVisible && report.knockRatio > Tuning.knockRatio + m.knockAllowance
            || report.concentration > Tuning.spikeConcentration
        {
            return Classification(verdict: .knock, movesLimb: true)
        }
        // A slow candidate leaks almost nothing into the knock band: less broadband energy
        // already makes it a jolt. Not itself a movement of the limb (it may be a twitch a noisy
        // slow sensor blurred): the limb stays at rest.
        if report.frequency < Tuning.slowKnockFrequency,
            report.knockRatio > Tuning.slowKnockRatio + m.knockAllowance,
            c.peakKnock > Tuning.slowKnockVisible * Tuning.slowKnockVisible * c.knockFloorEnergy
        {
            return Classification(verdict: .knock)
        }
        // Larger than one motor unit can make: many units at once, a movement.
        if report.peakMg > TwitchDetector.motorUnitCeilingMg {
            return Classification(verdict: .tooLarge, movesLimb: true)
        }
        guard
            Self.frequencyInRange(
                report.frequency, halfCycles: report.halfCycles, span: m.crossingSpan, rate: rate)
        else {
            return Classification(verdict: .frequency)
        }
        // Under tremor (the whole-band floor well above the upper band's), a slow candidate that
        // stands out only in the whole band is most likely a tremor burst: ask for more.
        if c.tremorIndex > Tuning.tremorIndex, report.frequency < Tuning.tremorMaxFrequency,
            c.peakUpperRatio < triggerRatio * triggerRatio,
            c.peakRatio < Tuning.tremorTriggerFactor * Tuning.tremorTriggerFactor * triggerRatio
                * triggerRatio
        {
            return Classification(verdict: .tremor)
        }
        // Unsettled: the limb moved in the last seconds clearly more than it does when quiet,
        // without reaching the movement threshold (small adjustments of a hand or foot). Those
        // make twitch-band energy of their own, so ask for more; more still right after the
        // limb came to rest.
        let unsettled =
            c.recentMovement > max(Tuning.unsettledMg, Tuning.unsettledOverBaseline * c.movementBaseline)
        if unsettled && snr < Tuning.unsettledTriggerFactor * triggerRatio
            || c.onset - restSince < Tuning.settlingTime && snr < Tuning.settlingTriggerFactor * triggerRatio
        {
            return Classification(verdict: .unsettled)
        }
        // A single motor unit pulls along its fibres: its vibration at the skin has one main
        // direction. Energy well beyond the noise along a second one is the limb itself moving.
        if report.secondAxisOverNoise > Tuning.secondAxisNoise, report.polarization < Tuning.minPolarization {
            return Classification(verdict: .multiaxial)
        }
        // Tremor raises the upper band too (its harmonics); that is the tremor rule's business.
        if c.elevation > Tuning.busyElevation, c.tremorIndex <= Tuning.tremorIndex,
            snr < Tuning.busyTriggerFactor * triggerRatio
        {
            return Classification(verdict: .busy)
        }
        // Fidgeting: the limb started moving four times in the last 50 s.
        if c.onset - activeOnsets[activeOnsetHead] < Tuning.fidgetWindow,
            snr < Tuning.fidgetTriggerFactor * triggerRatio
        {
            return Classification(verdict: .restless)
        }
        // Between the movements of a hand at work (two onsets in the last 50 s), only a clean
        // single-direction vibration is a twitch.
        let secondNewest = activeOnsets[
            (activeOnsetHead + activeOnsets.scalarCount - 2) % activeOnsets.scalarCount]
        if c.onset - secondNewest < Tuning.fidgetWindow, report.polarization < Tuning.fidgetPolarization {
            return Classification(verdict: .restless)
        }
        // Restless: several movements in the last minute and the upper band still raised.
        if c.elevation > Tuning.restlessElevation, c.tremorIndex <= Tuning.tremorIndex,
            movements(at: t) >= Tuning.restlessMovements
        {
            return Classification(verdict: .restless)
        }
        return Classification(verdict: .twitch)
    }

    /// Closes a candidate at `t`: measures it, classifies it, and holds it as a twitch (to be
    /// confirmed once the limb has stayed still and in place for `confirmDelay`) or drops it.
    mutating func close(_ c: Candidate, now t: Double, _ emit: (DetectorOutput) -> Void) {
        lastQuiet = t
        lastQuietIndex = stepIndex
        tailStart = t
        tailLevel = Tuning.releaseOfPeak2 * peakRatio(c)
        let m = measure(c)
        var report = m.report
        let judged = classify(c, m, at: t)
        if judged.movesLimb { lastMovement = t }
        guard judged.verdict == .twitch else {
            switch judged.verdict {
            case .duration, .frequency, .tremor, .twitch, .restless, .busy: break
            // A small knock may be a twitch that a slow sensor saw in two samples; one larger
            // than a motor unit makes is the hand hitting something.
            case .knock: if report.peakMg > TwitchDetector.motorUnitCeilingMg { noteMovements(1, at: t) }
            default: noteMovements(1, at: t)
            }
            if explain {
                report.verdict = judged.verdict
                emit(.candidate(report))
            }
            return
        }
        // Confidence: how far above threshold, on a log scale, saturating at 4x the threshold.
        let margin = log(m.snr / triggerRatio) / log(4.0)
        let confidence = min(max(0.5 + 0.5 * margin, 0), 1)
        let axis: Axis = m.axisIndex == 0 ? .x : (m.axisIndex == 1 ? .y : .z)
        let event = TwitchEvent(
            onset: c.onset, durationMs: report.duration * 1000, peakMg: report.peakMg, axis: axis,
            frequencyHz: report.frequency, snr: m.snr, confidence: confidence, location: location)
        if state == .notWorn {
            // A twitch means the sensor is on a limb after all.
            stillSince = t
            microQuiet = 0
        }
        hold(
            HeldTwitch(
                event: event, end: c.lastLoud, gravityBefore: c.gravityBefore, floorEnergy: c.floorEnergy,
                afterMovement: 0, report: report), emit)
    }
}
