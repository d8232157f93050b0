/// A three-axis acceleration in g (1 g = 9.80665 m/s^2).
///
/// Plain value type, laid out as three `Double`s so arrays of samples stay contiguous.
public struct Vector3: Sendable, Equatable, Hashable {
    public var x: Double
    public var y: Double
    public var z: Double

    @inlinable
    public init(x: Double, y: Double, z: Double) {
        self.x = x
        self.y = y
        self.z = z
    }

    public static let zero = Vector3(x: 0, y: 0, z: 0)

    /// Euclidean length.
    @inlinable
    public var magnitude: Double { (x * x + y * y + z * z).squareRoot() }

    @inlinable
    public subscript(axis: Axis) -> Double {
        get {
            switch axis {
            case .x: return x
            case .y: return y
            case .z: return z
            }
        }
        set {
            switch axis {
            case .x: x = newValue
            case .y: y = newValue
            case .z: z = newValue
            }
        }
    }

    @inlinable
    public static func + (a: Vector3, b: Vector3) -> Vector3 {
        Vector3(x: a.x + b.x, y: a.y + b.y, z: a.z + b.z)
    }

    @inlinable
    public static func - (a: Vector3, b: Vector3) -> Vector3 {
        Vector3(x: a.x - b.x, y: a.y - b.y, z: a.z - b.z)
    }

    @inlinable
    public static func * (a: Vector3, k: Double) -> Vector3 {
        Vector3(x: a.x * k, y: a.y * k, z: a.z * k)
    }
}

/// One of the sensor's three axes.
public enum Axis: String, Sendable, CaseIterable, Codable {
    case x, y, z
}
