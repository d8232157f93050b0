import Testing
import TwitchCore

@Suite struct ExposureTests {
    @Test func chargesEachStretchToTheStateInForce() {
        var c = ExposureCounter(state: .rest, at: 0)
        c.change(to: .active, at: 100)
        c.change(to: .rest, at: 130)
        c.gap(from: 200, to: 260)
        c.change(to: .notWorn, at: 300)
        c.charge(until: 400)
        #expect(c.exposure == Exposure(rest: 100 + 70 + 40, active: 30, notWorn: 100, gap: 60))
        #expect(c.exposure.total == 400)
    }

    @Test func timeGoingBackChargesNothing() {
        var c = ExposureCounter(state: .rest, at: 50)
        c.charge(until: 40)
        c.gap(from: 45, to: 48)
        c.change(to: .active, at: .nan)
        #expect(c.exposure == Exposure())
        c.charge(until: 60)
        #expect(c.exposure == Exposure(active: 10))
    }

    @Test func rateNeedsAMinuteOfRest() {
        #expect(Exposure(rest: 59).ratePerHourOfRest(3) == nil)
        #expect(Exposure(rest: 1800, active: 5000, notWorn: 9000, gap: 100).ratePerHourOfRest(3) == 6)
    }

    @Test func takeStartsAgainFromZero() {
        var c = ExposureCounter(state: .active, at: 0)
        c.charge(until: 10)
        #expect(c.take() == Exposure(active: 10))
        c.charge(until: 15)
        #expect(c.exposure == Exposure(active: 5))
    }
}
