// Fuzz target: any bytes as /etc/twitchd/twitchd.toml. The loader accepts the file or lists
// problems with a line, never traps; every issue it reports names a line within the file.
import Daemon
import FuzzSupport

#if canImport(Glibc)
    import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(bytes(data, size))
    do {
        _ = try ConfigLoader.parse(bytes: input, file: "fuzz.toml", checkFiles: false)
    } catch {
        let lines = input.reduce(1) { $1 == 10 ? $0 + 1 : $0 }
        for issue in error.issues {
            precondition(issue.line >= 0 && issue.line <= lines, "issue line \(issue.line) outside the file")
            _ = issue.description
        }
    }
    return 0
}

exit(runLibFuzzer(fuzzConfig))
