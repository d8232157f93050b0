import Foundation
import Sensors
import Testing
import Traces

/// The Daemon library is the pipeline only: it must not import a hardware, simulator,
/// trace-file or journald module. Sensors come in through its `SampleSource` protocol and
/// `SourceFactory`, the journal output through its `EventSink` protocol; the `twitchd` executable
/// composes `Sensors`, `JournalOutput` and `Daemon`.
@Suite("module graph")
struct ModuleGraphTests {
    static let forbidden = [
        "Accelerometers", "SensorBus", "GPIO", "SensorSim", "Traces", "Sensors", "CGPIOD", "CI2C", "Report",
        "CSystemd", "Journal", "JournalOutput",
    ]

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The modules a Swift file imports (any access level, `@testable`, `@_exported`).
    static func imports(in text: String) -> [String] {
        var out: [String] = []
        for raw in text.split(separator: "\n") {
            var words = raw.split(separator: " ").map(String.init)
            while let w = words.first,
                w.hasPrefix("@") || ["public", "package", "internal", "private", "fileprivate"].contains(w)
            {
                words.removeFirst()
            }
            guard words.count >= 2, words[0] == "import" else { continue }
            var module = words[1]
            if ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains(module),
                words.count >= 3
            {
                module = words[2].split(separator: ".").first.map(String.init) ?? words[2]
            }
            out.append(module.split(separator: ".").first.map(String.init) ?? module)
        }
        return out
    }

    @Test("no Daemon source file imports a hardware, simulator, trace or journald module")
    func daemonSourcesImportNoHardware() throws {
        let dir = Self.root.appendingPathComponent("Sources/Daemon")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasSuffix(".swift")
        }
        #expect(files.count > 5)
        var offending: [String] = []
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            for module in Self.imports(in: text) where Self.forbidden.contains(module) {
                offending.append("\(file) imports \(module)")
            }
        }
        #expect(offending == [])
    }

    @Test("Package.swift gives the Daemon target no hardware, simulator, trace or journald dependency")
    func daemonTargetDependencies() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let start = try #require(text.range(of: "name: \"Daemon\","))
        let rest = text[start.upperBound...]
        let open = try #require(rest.range(of: "dependencies: ["))
        let close = try #require(rest[open.upperBound...].range(of: "]"))
        let dependencies = rest[open.upperBound..<close.lowerBound]
        let names = dependencies.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map {
            String($0.element)
        }
        #expect(names.contains("Detector"))
        #expect(names.filter { Self.forbidden.contains($0) } == [])
    }

    @Test("the import scanner sees every form of import")
    func scanner() {
        let text =
            "import A\npublic import B\n@testable import C\n@_exported import D\nimport struct E.Thing\n// import F\n"
        #expect(Self.imports(in: text) == ["A", "B", "C", "D", "E"])
    }
}

@Suite("chip registry drives the simulator")
struct RegistrySimulatorTests {
    @Test("simulate --sensor takes the registry's names and noise, aliases included")
    func simulatorNoiseComesFromTheRegistry() {
        #expect(ChipRegistry.named("ADXL-355")?.noise == .adxl355)
        #expect(ChipRegistry.named("lsm6dsox")?.noise == .lsm6dso)
        #expect(ChipRegistry.named("bogus") == nil)
        for row in ChipRegistry.all {
            #expect(ChipRegistry.noiseSummary.contains(row.name + " "), "\(row.name)")
        }
        #expect(ChipRegistry.noiseSummary.contains("adxl345 350 ug/rtHz 3.9 mg"))
        #expect(ChipRegistry.noiseSummary.contains("adxl355 25 ug/rtHz 3.9 ug"))
    }
}
