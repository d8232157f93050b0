import Foundation
import TestSupport
import Testing

/// The result of running the built `twitchd`.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The `twitchd` executable built beside this test bundle (or $TWITCHD_BINARY): the search all
/// the test targets share (TestSupport's `builtTwitchd`).
func twitchdBinary() -> URL? {
    builtTwitchd().map { URL(fileURLWithPath: $0) }
}

/// Runs twitchd with `arguments`, capturing both streams, with standard input from the file `stdin`.
func twitchd(_ arguments: [String], stdin: String = "/dev/null") throws -> Run {
    guard let binary = twitchdBinary() else {
        throw CLIError("the twitchd executable was not found beside the tests; run `swift build` first")
    }
    return try runCapturing(binary, arguments, stdin: stdin)
}

/// Runs `executable` with `arguments` (and `environment` added to ours), capturing both streams.
func runCapturing(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
    stdin: String = "/dev/null"
) throws -> Run {
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    if !environment.isEmpty {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle(forReadingAtPath: stdin)
    try p.run()
    // Read both pipes concurrently so a large output cannot block the child.
    let errData = LockedData()
    let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while !errData.done { usleep(1000) }
    return Run(
        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData.value, as: UTF8.self))
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var finished = false
    func set(_ d: Data) {
        lock.lock()
        data = d
        finished = true
        lock.unlock()
    }
    var done: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }
    var value: Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "twitchd-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Each non-empty stdout line parsed as a JSON object.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CLIError("not a JSON object: \(line)")
        }
        return o
    }
}
