// swift-tools-version:6.1
// Benchmarks for twitchd, kept out of the main package so CI's `swift test` never builds the
// benchmark dependencies. Run from this folder:
//   swift package benchmark                      (ordo-one/benchmark: throughput, mallocs)
//   swift build -c release --product detector-callgrind
//   valgrind --tool=callgrind .build/release/detector-callgrind 1000 600000
import PackageDescription

let package = Package(
    name: "twitchd-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "twitchd", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // A fixed, deterministic input: sensor noise, gravity, twitches, a knock, tremor.
        .target(
            name: "DetectorWorkload",
            dependencies: [.product(name: "Detector", package: "twitchd")],
            path: "Sources/DetectorWorkload"),
        .executableTarget(
            name: "DetectorBenchmark",
            dependencies: [
                "DetectorWorkload",
                .product(name: "Detector", package: "twitchd"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DetectorBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        // The acquisition thread's work: the ADXL345 driver reading the simulated chip.
        .target(
            name: "AcquisitionWorkload",
            dependencies: [
                .product(name: "Accelerometers", package: "twitchd"),
                .product(name: "SensorSim", package: "twitchd"),
                .product(name: "Traces", package: "twitchd"),
            ],
            path: "Sources/AcquisitionWorkload"),
        .executableTarget(
            name: "AcquisitionBenchmark",
            dependencies: [
                "AcquisitionWorkload",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/AcquisitionBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        // The same work without the benchmark harness, for valgrind --tool=callgrind.
        .executableTarget(
            name: "detector-callgrind",
            dependencies: ["DetectorWorkload", .product(name: "Detector", package: "twitchd")],
            path: "Sources/detector-callgrind"),
        .executableTarget(
            name: "acquisition-callgrind",
            dependencies: ["AcquisitionWorkload"],
            path: "Sources/acquisition-callgrind"),
    ]
)
