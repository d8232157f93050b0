// libFuzzer glue shared by the fuzz targets (see docs/testing.md, "Fuzzing").
//
// SwiftPM links an executable's own `main` (it renames the Swift entry point and points `main` at
// it), so libFuzzer's `main` is never the one that runs: each target's main.swift calls
// `runLibFuzzer`, which hands the command line to libFuzzer's driver. Built only with
// `-sanitize=fuzzer` (make fuzz), which links libFuzzer in.

#if canImport(Glibc)
    import Glibc
#endif

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the process's arguments and `test` as the target; returns its status.
public func runLibFuzzer(_ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    return LLVMFuzzerRunDriver(&argc, &argv, test)
}

nonisolated(unsafe) private var atexit_path: String?

/// The text of a NUL-terminated C string held in an array.
public func cString(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The input as a buffer (libFuzzer may pass a null pointer for the empty input).
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: size > 0 ? data : nil, count: size > 0 ? size : 0)
}

/// A scratch file that inputs are written to, for code that reads a path (in /dev/shm when
/// there is one, so no disk is worn; removed at exit by the fuzz scripts' temporary directory).
public final class MemoryFile {
    public let fd: Int32
    /// The file's path.
    public let path: String

    public init(name: String) {
        let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        var template = Array("\(dir)/twitchd-fuzz-\(name)-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        precondition(fd >= 0, "mkstemp failed")
        path = cString(template)
        atexit_path = path
        atexit { if let p = atexit_path { unlink(p) } }
    }

    /// Replaces the file's content with `bytes`.
    public func set(_ bytes: UnsafeBufferPointer<UInt8>) {
        _ = ftruncate(fd, 0)
        var off = 0
        while off < bytes.count, let base = bytes.baseAddress {
            let n = pwrite(fd, base + off, bytes.count - off, off_t(off))
            if n <= 0 { break }
            off += n
        }
    }
}
