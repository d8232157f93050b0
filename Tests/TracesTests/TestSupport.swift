import Foundation
import Testing
import TwitchCore

@testable import Traces

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "twitchd-traces-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `text` to `name` in `dir`, gzip-compressed (with the system `gzip`) when `name` ends in .gz.
@discardableResult
func writeFile(_ dir: URL, _ name: String, _ text: String) throws -> String {
    let url = dir.appendingPathComponent(name)
    if name.hasSuffix(".gz") {
        let plain = dir.appendingPathComponent(name + ".plain")
        try Data(text.utf8).write(to: plain)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(plain.path)' > '\(url.path)'"]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    } else {
        try Data(text.utf8).write(to: url)
    }
    return url.path
}

/// Reads every sample, returning them and the error that stopped the reading, if any.
func readAll(_ path: String, _ options: TraceReadOptions = TraceReadOptions()) throws(TraceError) -> (
    TraceReader, [TwitchCore.Sample], TraceError?
) {
    var reader = try TraceReader(path: path, options: options)
    var out: [TwitchCore.Sample] = []
    do {
        while let s = try reader.next() { out.append(s) }
    } catch {
        return (reader, out, error)
    }
    return (reader, out, nil)
}

/// The shared dev traces directory (../shared/data/traces beside the repository), when present.
func sharedTracesDirectory(file: String = #filePath) -> URL? {
    var dir = URL(fileURLWithPath: file).deletingLastPathComponent()
    for _ in 0..<8 {
        let candidate = dir.appendingPathComponent("shared/data/traces")
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}
