// Small vector helpers for the detector: three axes in the lanes of a SIMD4 (the fourth is padding).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Eigenvalues, largest first, of the symmetric 3x3 matrix with diagonal `d` (lanes 0-2) and
/// off-diagonal `o` (xy, xz, yz), in closed form (the trigonometric solution of the
/// characteristic cubic; a symmetric matrix has three real roots).
func symmetricEigenvalues(_ d: SIMD4<Double>, _ o: SIMD4<Double>) -> (Double, Double, Double) {
    let p1 = o[0] * o[0] + o[1] * o[1] + o[2] * o[2]
    let q = (d[0] + d[1] + d[2]) / 3
    let p2 = (d[0] - q) * (d[0] - q) + (d[1] - q) * (d[1] - q) + (d[2] - q) * (d[2] - q) + 2 * p1
    guard p2 > 1e-300 * 6 else { return (q, q, q) }
    let p = (p2 / 6).squareRoot()
    // B = (A - qI) / p; r = det(B) / 2, clamped against rounding.
    let b00 = (d[0] - q) / p
    let b11 = (d[1] - q) / p
    let b22 = (d[2] - q) / p
    let b01 = o[0] / p
    let b02 = o[1] / p
    let b12 = o[2] / p
    let det = b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02) + b02 * (b01 * b12 - b11 * b02)
    let r = min(max(det / 2, -1), 1)
    let phi = acos(r) / 3
    let largest = q + 2 * p * cos(phi)
    let smallest = q + 2 * p * cos(phi + 2 * Double.pi / 3)
    return (largest, 3 * q - largest - smallest, smallest)
}

/// Lane-wise minimum, written out (the generic `pointwiseMin` is not inlined).
@inline(__always)
func lanewiseMin(_ a: SIMD4<Double>, _ b: SIMD4<Double>) -> SIMD4<Double> {
    SIMD4(min(a[0], b[0]), min(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
}

/// Each lane at least `floor`.
@inline(__always)
func lanewiseMax(_ a: SIMD4<Double>, _ floor: Double) -> SIMD4<Double> {
    SIMD4(max(a[0], floor), max(a[1], floor), max(a[2], floor), max(a[3], floor))
}

/// Squared length of the first three lanes (the axes; the fourth is padding).
@inline(__always)
func norm2(_ v: SIMD4<Double>) -> Double {
    v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
}
