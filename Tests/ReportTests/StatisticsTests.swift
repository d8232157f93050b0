import Testing

@testable import Report

/// Reference values computed with SciPy 1.x (pip install scipy), e.g.
///   from scipy.stats import beta, binomtest
///   beta.ppf(0.025, k, n-k+1), beta.ppf(0.975, k+1, n-k)          # Clopper-Pearson
///   r = binomtest(41, 341).proportion_ci(0.95, 'exact')           # the same interval
///   r.low/(1-r.low)*80/6.5, r.high/(1-r.high)*80/6.5               # rate-ratio CI
/// The rate-ratio interval is what R's poisson.test(c(41, 300), c(6.5, 80)) reports (it uses
/// the same conditional binomial method).
@Suite struct StatisticsTests {
    @Test func clopperPearsonMatchesSciPy() {
        let cases: [(k: Int, n: Int, lo: Double, hi: Double)] = [
            (41, 341, 0.0876799302794527, 0.15956050620935355),
            (0, 10, 0, 0.3084971078187607),
            (10, 10, 0.6915028921812392, 1),
            (5, 20, 0.08657146910143461, 0.49104587170795744),
            (1, 1000, 2.531748749129404e-05, 0.005558924279826672),
        ]
        for c in cases {
            let (lo, hi) = RateRatio.clopperPearson(k: c.k, n: c.n)
            #expect(abs(lo - c.lo) < 1e-9, "lower for \(c.k)/\(c.n): \(lo)")
            #expect(abs(hi - c.hi) < 1e-9, "upper for \(c.k)/\(c.n): \(hi)")
        }
    }

    @Test func regularizedBetaMatchesSciPy() {
        // beta.cdf(0.3, 2.5, 4.0)
        #expect(abs(RateRatio.regularizedBeta(0.3, 2.5, 4.0) - 0.3521975859067672) < 1e-12)
    }

    @Test func rateRatioIntervalMatchesReference() throws {
        let r = try #require(RateRatio.interval(k1: 41, t1: 6.5, k2: 300, t2: 80))
        #expect(abs(r.ratio - 1.682051282051282) < 1e-12)
        #expect(abs(r.lower - 1.1828497906112798) < 1e-8)
        #expect(abs(r.upper - 2.336660318075818) < 1e-8)
    }

    @Test func noCountsOrNoTimeGiveNoInterval() {
        #expect(RateRatio.interval(k1: 0, t1: 1, k2: 0, t2: 1) == nil)
        #expect(RateRatio.interval(k1: 3, t1: 0, k2: 5, t2: 1) == nil)
    }

    @Test func noneAfterGivesZeroLowerBound() throws {
        let r = try #require(RateRatio.interval(k1: 0, t1: 2, k2: 50, t2: 10))
        #expect(r.lower == 0)
        #expect(r.ratio == 0)
        #expect(r.upper > 0 && r.upper < 1)
    }
}
