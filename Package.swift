// swift-tools-version:6.0
// twitchd: counts muscle twitches from an I2C accelerometer on Linux.
//
// The module graph mirrors the architecture (see README "Architecture"):
//   TwitchCore  <- Detector (pure computation)
//   TwitchCore  <- Traces (trace files, simulator)
//   SensorBus (register access; Linux i2c-dev bus)  <- Accelerometers (chip drivers)
//   SensorBus, Traces  <- SensorSim (register-level simulated chips)
//   GPIO (data-ready edges via libgpiod)
//   Journal (journald native protocol, sd_notify)
//   Daemon: the pipeline only (sample sources, ring, detector thread, outputs, lifecycle); it
//     imports no hardware, simulator, trace or journald module (Tests/SensorsTests/ModuleGraphTests
//     checks)
//   Sensors: the chip registry, and the one way to open a sensor (real or simulated) as a
//     Daemon sample source; depends on Daemon (for the seam) and the hardware modules
//   JournalOutput: the journald output, a Daemon event sink over the Journal module's writer
//   twitchd, the command line, composes Sensors, JournalOutput and Daemon (like swift-nio's
//     umbrella).
import PackageDescription

// Tools version 6.0, not higher: Debian trixie's `swiftlang` (what `apt install swiftlang` gives on
// Raspberry Pi OS) is 6.0.3, and it refuses a newer manifest. What differs between 6.0 and the
// newer compilers is decided below by `#if compiler(...)`, never dropped (issue 14).

// Members come only from modules a file imports: Foundation, which TOMLKit loads, cannot slip
// back into the daemon through an overload (the daemon links FoundationEssentials only).
// Swift 6.0 silently ignores this as an upcoming feature (the static binary then grows from 32 to
// 81 MB and check-footprint fails); before 6.1 it exists as an experimental feature.
#if compiler(>=6.1)
    let memberImportVisibility: SwiftSetting = .enableUpcomingFeature("MemberImportVisibility")
#else
    let memberImportVisibility: SwiftSetting = .enableExperimentalFeature("MemberImportVisibility")
#endif

// The release binary is linked with full RELRO: relocations read-only after start (-z relro) and
// every symbol bound at start (-z now). With the swift.org 6.3 toolchain here (gold) that gives a
// GNU_RELRO segment and BIND_NOW. Debian trixie's swiftlang 6.0.3 links with ld.bfd (trixie has no
// gold), which merges the compiler's writable `.rodata` input sections (flags WAR, e.g. in
// Detector's Explain.swift.o) into one read-write-execute LOAD segment, so its binary gets
// BIND_NOW but no RELRO. Linking there with the toolchain's lld (`-use-ld=lld`) keeps the
// segments apart but retains Foundation's ICU layer (85 MB instead of 35, check-footprint
// fails), so it is not used: packaging/debian/lintian-explained, hardening-no-relro.
let hardenedLink: [String] = ["-Xlinker", "-z", "-Xlinker", "relro", "-Xlinker", "-z", "-Xlinker", "now"]

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    memberImportVisibility,
]

// swift-log 1.16 (the release with `LogEvent`) declares tools version 6.2 and uses 6.1/6.2
// syntax (trailing commas, `_runtime(_multithreaded)`, `nonisolated(nonsending)` on two helpers
// twitchd does not call). Older compilers use the same release staged by
// scripts/swift-log-compat into .build-compat/swift-log with a 6.0 manifest (`make` runs it);
// the package is still named swift-log, so the targets below are the same for both.
#if compiler(>=6.2)
    let swiftLog: Package.Dependency = .package(url: "https://github.com/apple/swift-log", from: "1.16.0")
#else
    let swiftLog: Package.Dependency = .package(path: ".build-compat/swift-log")
#endif

let package = Package(
    name: "twitchd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "twitchd", targets: ["twitchd"]),
        .library(name: "Detector", targets: ["Detector"]),
        .library(name: "Traces", targets: ["Traces"]),
        // For Benchmarks/ (the acquisition path: a chip driver on a simulated chip).
        .library(name: "Accelerometers", targets: ["Accelerometers"]),
        .library(name: "SensorSim", targets: ["SensorSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        swiftLog,
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CI2C",
            providers: [.apt(["libi2c-dev"])]),
        .systemLibrary(
            name: "CSystemd", pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "CGPIOD",
            // Checked string and memory calls in release builds (lintian's hardening check; glibc
            // only fortifies optimised code).
            cSettings: [.define("_FORTIFY_SOURCE", to: "2", .when(configuration: .release))],
            linkerSettings: [.linkedLibrary("gpiod")]),

        // Pure value types shared by every module.
        .target(name: "TwitchCore", swiftSettings: strict),
        // The twitch detector: pure computation, no I/O, no clocks.
        .target(name: "Detector", dependencies: ["TwitchCore"], swiftSettings: strict),
        // Trace files (generic CSV, phyphox, gzip) and the synthetic trace generator.
        .target(name: "Traces", dependencies: ["TwitchCore", "CZlib"], swiftSettings: strict),
        // Register access to one I2C device: the protocol, typed errors, the Linux i2c-dev bus.
        .target(name: "SensorBus", dependencies: ["CI2C"], swiftSettings: strict),
        // Chip drivers: one engine, one settings table per chip.
        .target(
            name: "Accelerometers", dependencies: ["TwitchCore", "SensorBus"], swiftSettings: strict),
        // Register-level simulated chips behind a SensorBus, fed by traces.
        .target(
            name: "SensorSim", dependencies: ["TwitchCore", "SensorBus", "Traces"],
            swiftSettings: strict),
        // Data-ready edges through libgpiod (v1 or v2, chosen at build time in CGPIOD).
        .target(name: "GPIO", dependencies: ["CGPIOD", "SensorBus"], swiftSettings: strict),
        // journald native protocol, spool, sd_notify.
        .target(
            name: "Journal",
            dependencies: ["TwitchCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // twitchd report: reads twitchd's entries back from the journal (sd-journal), counts them
        // against the exposure, compares notes, renders tables, JSON, CSV and HTML.
        .target(name: "Report", dependencies: ["TwitchCore", "CSystemd"], swiftSettings: strict),
        // Configuration, pipeline threads, event socket, lifecycle. No hardware, simulator, trace
        // or journald module: sensors come in through its SampleSource protocol and
        // SourceFactory, the journal output through its EventSink protocol and journalFactory.
        .target(
            name: "Daemon",
            dependencies: [
                "TwitchCore", "Detector", .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strict),
        // The journal output: events as journald entries through the Journal module's writer
        // (native protocol, spool), a Daemon event sink the command line plugs in.
        .target(
            name: "JournalOutput",
            dependencies: [
                "Daemon", "Journal", "TwitchCore", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // The chip registry and the one way to open a sensor (`[[sensor]]` table or `--bus`),
        // real (i2c-dev + GPIO) or simulated, as a Daemon sample source.
        .target(
            name: "Sensors",
            dependencies: [
                "Daemon", "TwitchCore", "Traces", "SensorBus", "Accelerometers", "SensorSim", "GPIO",
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "twitchd",
            dependencies: [
                "Daemon", "Sensors", "JournalOutput", "TwitchCore", "Detector", "Traces", "SensorBus",
                "Accelerometers", "SensorSim", "GPIO", "Journal", "Report",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(hardenedLink)]),

        // Test helpers shared by test targets (not a product).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "TwitchCoreTests", dependencies: ["TwitchCore"]),
        .testTarget(name: "DetectorTests", dependencies: ["Detector", "Traces", "TwitchCore"]),
        .testTarget(name: "TracesTests", dependencies: ["Traces", "TwitchCore", "TestSupport"]),
        .testTarget(name: "SensorBusTests", dependencies: ["SensorBus", "CI2C", "TestSupport"]),
        .testTarget(
            name: "AccelerometersTests",
            dependencies: [
                "Accelerometers", "Sensors", "SensorSim", "SensorBus", "Traces", "Detector", "TwitchCore",
                "TestSupport",
            ]),
        .testTarget(
            name: "GPIOTests", dependencies: ["GPIO", "SensorBus", "CGPIOD", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "JournalTests",
            dependencies: [
                "Journal", "TwitchCore", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "Daemon", "Sensors", "JournalOutput", "TwitchCore", "Journal", "Traces",
                "TestSupport",
            ]),
        .testTarget(
            name: "SensorsTests",
            dependencies: [
                "Sensors", "Daemon", "JournalOutput", "Journal", "Accelerometers", "SensorSim", "SensorBus",
                "Traces",
                "TwitchCore",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "twitchdTests", dependencies: ["TwitchCore", "Sensors", "TestSupport"]),
        .testTarget(
            name: "ReportTests",
            dependencies: ["Report", "TwitchCore", "Journal", "TestSupport"]),
    ]
)

// Fuzz targets (Fuzz/, `make fuzz`): libFuzzer drivers built only when TWITCHD_FUZZ is set,
// because they link only with `-sanitize=fuzzer` (scripts/fuzz passes the flags). The normal
// build and the release never see them.
if Context.environment["TWITCHD_FUZZ"] != nil {
    package.targets.append(
        .target(name: "FuzzSupport", path: "Fuzz/Sources/FuzzSupport", swiftSettings: strict))
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("FuzzTraceReader", ["Traces", "TwitchCore"]),
        ("FuzzConfig", ["Daemon"]),
        ("FuzzSpool", ["Journal"]),
        ("FuzzTailLine", ["Daemon"]),
    ]
    for (name, dependencies) in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: name, dependencies: ["FuzzSupport"] + dependencies, path: "Fuzz/Sources/\(name)",
                swiftSettings: strict))
    }
}
