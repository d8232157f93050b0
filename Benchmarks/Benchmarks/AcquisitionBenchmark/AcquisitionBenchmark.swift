import AcquisitionWorkload
import Benchmark

/// Each iteration reads 100,000 samples through the ADXL345 driver from the simulated chip on a
/// virtual clock: the acquisition thread's CPU work per sample, without its sleeps.
let benchmarks: @Sendable () -> Void = {
    let count = 100_000
    for (limb, name) in [(false, "resting-noise source"), (true, "Traces limb simulator")] {
        for rate in [800.0, 3200] {
            let workload: AcquisitionWorkload
            do {
                workload = try AcquisitionWorkload(rate: rate, limb: limb)
            } catch {
                print("acquisition workload \(name) at \(rate) Hz: \(error)")
                continue
            }
            Benchmark(
                "Acquisition ADXL345 \(Int(rate)) Hz, \(name), 100k samples",
                configuration: .init(
                    metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident],
                    maxDuration: .seconds(5), maxIterations: 50)
            ) { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(workload.read(samples: count))
                }
            }
        }
    }
}
