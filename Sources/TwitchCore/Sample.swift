/// One accelerometer reading.
///
/// `time` is in seconds on the source's own time base: seconds since the first sample for a
/// replayed trace, `CLOCK_MONOTONIC` seconds for a live sensor. The detector only ever compares
/// times of the same source, so it never needs to know which.
public struct Sample: Sendable, Equatable {
    /// Seconds on the source's time base.
    public var time: Double
    /// Acceleration in g.
    public var acceleration: Vector3

    @inlinable
    public init(time: Double, acceleration: Vector3) {
        self.time = time
        self.acceleration = acceleration
    }

    @inlinable
    public init(time: Double, x: Double, y: Double, z: Double) {
        self.time = time
        self.acceleration = Vector3(x: x, y: y, z: z)
    }
}
