// Small fixed-size IIR filters for the detector. Coefficients are computed once from the internal
// sample rate (bilinear transform with pre-warping, after R. Bristow-Johnson's audio EQ cookbook),
// so every cut-off is specified in Hz and the detector behaves the same at any input rate.

/// Second-order section in transposed direct form II, run on the three axes at once.
struct Biquad: Sendable {
    var b0: Double
    var b1: Double
    var b2: Double
    var a1: Double
    var a2: Double
    var z1 = SIMD4<Double>.zero
    var z2 = SIMD4<Double>.zero

    enum Kind { case lowPass, highPass }

    /// A Butterworth (Q = 1/sqrt 2) low- or high-pass at `cutoff` Hz for a stream at `rate` Hz.
    init(_ kind: Kind, cutoff: Double, rate: Double, q: Double = 0.5.squareRoot()) {
        let w0 = 2 * Double.pi * min(cutoff, 0.45 * rate) / rate
        let cosW = cos(w0)
        let alpha = sin(w0) / (2 * q)
        let a0 = 1 + alpha
        switch kind {
        case .lowPass:
            b0 = (1 - cosW) / 2 / a0
            b1 = (1 - cosW) / a0
            b2 = b0
        case .highPass:
            b0 = (1 + cosW) / 2 / a0
            b1 = -(1 + cosW) / a0
            b2 = b0
        }
        a1 = -2 * cosW / a0
        a2 = (1 - alpha) / a0
    }

    /// Sets the state to the steady state for a constant input `x`, so a filter started on a
    /// sensor lying still does not ring from the step between zero and gravity.
    mutating func prime(_ x: SIMD4<Double>) {
        let gain = (b0 + b1 + b2) / (1 + a1 + a2)
        let y = x * gain
        z2 = x * b2 - y * a2
        z1 = x * b1 - y * a1 + z2
    }

    /// Complex response (real, imaginary) of the filter at `frequency` Hz for a stream at `rate` Hz.
    func response(at frequency: Double, rate: Double) -> (Double, Double) {
        let w = 2 * Double.pi * frequency / rate
        let nr = b0 + b1 * cos(w) + b2 * cos(2 * w)
        let ni = -b1 * sin(w) - b2 * sin(2 * w)
        let dr = 1 + a1 * cos(w) + a2 * cos(2 * w)
        let di = -a1 * sin(w) - a2 * sin(2 * w)
        let d2 = max(dr * dr + di * di, 1e-300)
        return ((nr * dr + ni * di) / d2, (ni * dr - nr * di) / d2)
    }

    /// Gain of the filter at `frequency` Hz for a stream at `rate` Hz.
    func magnitude(at frequency: Double, rate: Double) -> Double {
        let w = 2 * Double.pi * frequency / rate
        // H(z) at z = e^{jw}: (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2).
        let c1 = cos(w)
        let s1 = -sin(w)
        let c2 = cos(2 * w)
        let s2 = -sin(2 * w)
        let nr = b0 + b1 * c1 + b2 * c2
        let ni = b1 * s1 + b2 * s2
        let dr = 1 + a1 * c1 + a2 * c2
        let di = a1 * s1 + a2 * s2
        return ((nr * nr + ni * ni) / max(dr * dr + di * di, 1e-300)).squareRoot()
    }

    @inline(__always)
    mutating func step(_ x: SIMD4<Double>) -> SIMD4<Double> {
        let y = x * b0 + z1
        z1 = x * b1 - y * a1 + z2
        z2 = x * b2 - y * a2
        return y
    }
}

/// Smoothing coefficient of a one-pole low-pass with time constant `tau` seconds at `rate` Hz.
@inline(__always)
func onePoleAlpha(tau: Double, rate: Double) -> Double {
    1 - exp(-1 / (tau * rate))
}

// Foundation-free math: the detector must not import Foundation. Glibc/Darwin give these.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
