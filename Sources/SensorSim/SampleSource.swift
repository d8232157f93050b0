public import TwitchCore

/// Where a simulated chip's samples come from: one acceleration (in g) per output-data-rate tick.
///
/// Trace readers and the trace simulator adapt to this; the chip asks for one value each time its
/// (slightly off-nominal) oscillator ticks, so the source is consumed at the chip's true rate.
public protocol SampleSource: AnyObject {
    /// The next acceleration in g, or `nil` when the source is exhausted (the chip then stops
    /// producing samples, so a test can read everything and compare counts).
    func nextAcceleration() -> Vector3?
}

/// Replays a fixed list of accelerations.
public final class ArraySource: SampleSource {
    private let values: [Vector3]
    private var index = 0
    /// When true, starts again from the beginning instead of ending.
    public var loops: Bool

    public init(_ values: [Vector3], loops: Bool = false) {
        self.values = values
        self.loops = loops
    }

    public func nextAcceleration() -> Vector3? {
        if index >= values.count {
            guard loops, !values.isEmpty else { return nil }
            index = 0
        }
        defer { index += 1 }
        return values[index]
    }

    /// Values handed out so far.
    public var consumed: Int { index }
}

/// A limb at rest: gravity along a fixed direction plus small deterministic noise; endless,
/// or `limit` samples long.
public final class RestingSource: SampleSource {
    public var gravity: Vector3
    public var noiseG: Double
    private var state: UInt64
    private var produced = 0
    private let limit: Int?

    public init(
        gravity: Vector3 = Vector3(x: 0.02, y: -0.05, z: 0.998), noiseG: Double = 0.0005, seed: UInt64 = 1,
        limit: Int? = nil
    ) {
        self.gravity = gravity
        self.noiseG = noiseG
        self.state = seed | 1
        self.limit = limit
    }

    private func uniform() -> Double {
        // xorshift64*: cheap, deterministic, no allocation.
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let v = state &* 2_685_821_657_736_338_717
        return Double(v >> 11) / Double(1 << 53) - 0.5
    }

    public func nextAcceleration() -> Vector3? {
        if let limit, produced >= limit { return nil }
        produced += 1
        return gravity + Vector3(x: uniform(), y: uniform(), z: uniform()) * (noiseG * 3.46)
    }
}

/// Calls a closure with the sample index; handy in tests.
public final class FunctionSource: SampleSource {
    private let body: (Int) -> Vector3?
    private var index = 0

    public init(_ body: @escaping (Int) -> Vector3?) { self.body = body }

    public func nextAcceleration() -> Vector3? {
        defer { index += 1 }
        return body(index)
    }
}
