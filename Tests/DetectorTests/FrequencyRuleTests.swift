import Testing

@testable import Detector

@Suite("Dominant-frequency rule")
struct FrequencyRuleTests {
    @Test("one half-cycle between neighbouring samples at 100 Hz (reads 50 Hz) may be a 25-35 Hz twitch")
    func oneSampleHalfCycleAtLowRate() {
        // 1 / (2 * 0.01 s) = 50 Hz as measured; with the span a sample longer, 25 Hz.
        #expect(DetectorCore.frequencyInRange(50, halfCycles: 1, span: 0.01, rate: 100))
        // Three half-cycles over four samples at 100 Hz: 37.5 Hz measured, 30 Hz at the slowest.
        #expect(DetectorCore.frequencyInRange(37.5, halfCycles: 3, span: 0.04, rate: 100))
    }

    @Test("where a sample is short, a fast oscillation is still too fast, and a slow one too slow")
    func fastAndSlowStillRejected() {
        // 400 Hz: one half-cycle over one sample reads 200 Hz, at the slowest 100 Hz.
        #expect(!DetectorCore.frequencyInRange(200, halfCycles: 1, span: 0.0025, rate: 400))
        // 200 Hz: 80 Hz vibration over ten half-cycles (62.5 ms) is 74 Hz at the slowest.
        #expect(!DetectorCore.frequencyInRange(80, halfCycles: 10, span: 0.0625, rate: 200))
        #expect(!DetectorCore.frequencyInRange(2, halfCycles: 0, span: 0, rate: 400))
        #expect(DetectorCore.frequencyInRange(20, halfCycles: 4, span: 0.1, rate: 400))
    }
}
