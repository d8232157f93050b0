import Testing
import TwitchCore

@Suite struct Vector3Tests {
    @Test func magnitudeAndAxes() {
        var v = Vector3(x: 3, y: 4, z: 0)
        #expect(v.magnitude == 5)
        v[.z] = 12
        #expect(v.magnitude == 13)
        #expect(v[.y] == 4)
        #expect((v - v) == .zero)
    }
}
