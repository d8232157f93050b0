import Benchmark
import DetectorWorkload

/// Each iteration runs a fresh detector over one million 3-axis samples, so the throughput
/// metric reads directly in millions of samples per second.
let benchmarks: @Sendable () -> Void = {
    let count = 1_000_000
    for rate in [100.0, 400, 1000, 3200] {
        let workload = Workload(rate: rate, count: count)
        Benchmark(
            "Detector \(Int(rate)) Hz, 1M samples",
            configuration: .init(
                metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .peakMemoryResident],
                maxDuration: .seconds(5), maxIterations: 30)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(workload.run())
            }
        }
    }
}
