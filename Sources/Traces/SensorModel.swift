/// What a simulated sensor adds to the true acceleration: white noise, quantisation, a full-scale
/// range and a zero-g offset. Figures are typical datasheet values (see the README's hardware
/// notes). Which chip uses which is the chip registry's business (Sensors, `ChipRegistry`): it
/// is the one list of chips.
public struct SensorModel: Sendable, Equatable {
    /// Chip name, written to the trace's `sensor` metadata.
    public var name: String
    /// White-noise density in g/sqrt(Hz); the noise per sample is this times sqrt(rate / 2).
    public var noiseDensity: Double
    /// Size of one LSB in g (0: no quantisation).
    public var lsb: Double
    /// Full-scale range in g; readings clip at +-range.
    public var range: Double
    /// Largest zero-g offset per axis in g (each trace draws its own within +-this).
    public var maxOffset: Double

    /// A chip model; `noiseDensity` in g/sqrt(Hz), `lsb`, `range` and `maxOffset` in g.
    public init(name: String, noiseDensity: Double, lsb: Double, range: Double = 2, maxOffset: Double = 0) {
        self.name = name
        self.noiseDensity = noiseDensity
        self.lsb = lsb
        self.range = range
        self.maxOffset = maxOffset
    }

    /// ADXL345, full resolution: ~350 ug/sqrt(Hz), 3.9 mg/LSB.
    public static let adxl345 = SensorModel(
        name: "adxl345", noiseDensity: 350e-6, lsb: 0.0039, range: 2, maxOffset: 0.04)
    /// LIS3DH, high-resolution mode: ~220 ug/sqrt(Hz), 1 mg/LSB at +-2 g.
    public static let lis3dh = SensorModel(
        name: "lis3dh", noiseDensity: 220e-6, lsb: 0.001, range: 2, maxOffset: 0.04)
    /// MPU-6050: ~400 ug/sqrt(Hz), 61 ug/LSB at +-2 g.
    public static let mpu6050 = SensorModel(
        name: "mpu6050", noiseDensity: 400e-6, lsb: 0.000061, range: 2, maxOffset: 0.05)
    /// ADXL355: ~25 ug/sqrt(Hz), 3.9 ug/LSB (20-bit).
    public static let adxl355 = SensorModel(
        name: "adxl355", noiseDensity: 25e-6, lsb: 0.0000039, range: 2, maxOffset: 0.01)
    /// LSM6DSO: ~90 ug/sqrt(Hz), 61 ug/LSB at +-2 g.
    public static let lsm6dso = SensorModel(
        name: "lsm6dso", noiseDensity: 90e-6, lsb: 0.000061, range: 2, maxOffset: 0.02)

    /// RMS noise per axis in 5...100 Hz (the twitch band, capped at Nyquist) for a sample rate, in g.
    public func inBandNoise(rate: Double) -> Double {
        let nyquist = rate / 2
        let band = max(min(100, nyquist) - 5, 0)
        let white = noiseDensity * noiseDensity * band
        let quantisation = lsb * lsb / 12 * band / nyquist
        return (white + quantisation).squareRoot()
    }
}
