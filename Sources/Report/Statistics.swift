// Exact confidence intervals for the ratio of two Poisson rates.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Exact (conditional binomial) inference on two Poisson counts.
public enum RateRatio {
    /// The ratio of rates (k1/t1)/(k2/t2) and its exact `level` confidence interval.
    ///
    /// Conditional on k1 + k2, k1 is binomial with p = r·t1 / (r·t1 + t2) where r is the rate
    /// ratio; the Clopper-Pearson interval (pL, pU) for p becomes (pL/(1-pL)·t2/t1,
    /// pU/(1-pU)·t2/t1) for r. Nil when a time is not positive or there are no counts at all.
    public static func interval(k1: Int, t1: Double, k2: Int, t2: Double, level: Double = 0.95)
        -> (ratio: Double, lower: Double, upper: Double)?
    {
        guard t1 > 0, t2 > 0, t1.isFinite, t2.isFinite, k1 >= 0, k2 >= 0, k1 + k2 > 0 else { return nil }
        let (pl, pu) = clopperPearson(k: k1, n: k1 + k2, level: level)
        let scale = t2 / t1
        let ratio = k2 == 0 ? Double.infinity : (Double(k1) / t1) / (Double(k2) / t2)
        let lower = pl / (1 - pl) * scale
        let upper = pu >= 1 ? Double.infinity : pu / (1 - pu) * scale
        return (ratio, lower, upper)
    }

    /// The Clopper-Pearson interval for a binomial proportion k/n.
    public static func clopperPearson(k: Int, n: Int, level: Double = 0.95) -> (Double, Double) {
        let alpha = 1 - level
        let lower = k == 0 ? 0 : betaQuantile(alpha / 2, Double(k), Double(n - k + 1))
        let upper = k == n ? 1 : betaQuantile(1 - alpha / 2, Double(k + 1), Double(n - k))
        return (lower, upper)
    }

    /// The `q` quantile of the Beta(a, b) distribution (bisection on the regularized incomplete
    /// beta function; about 1e-14 absolute).
    public static func betaQuantile(_ q: Double, _ a: Double, _ b: Double) -> Double {
        var lo = 0.0
        var hi = 1.0
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if regularizedBeta(mid, a, b) < q { lo = mid } else { hi = mid }
            if hi - lo < 1e-16 { break }
        }
        return (lo + hi) / 2
    }

    /// I_x(a, b), the regularized incomplete beta function (continued fraction, Lentz).
    public static func regularizedBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(lnFront) * continuedFraction(x, a, b) / a
        }
        return 1 - exp(lnFront) * continuedFraction(1 - x, b, a) / b
    }

    private static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return h
    }
}
