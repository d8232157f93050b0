// Fuzz target: what `twitchd tail` does with the lines an event socket sends. Any bytes, split
// at newlines, are formatted (plain and coloured) or ignored, never trap.
import Daemon
import FuzzSupport

#if canImport(Glibc)
    import Glibc
#endif

let plain = EventPrinter(color: false)
let colored = EventPrinter(color: true)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTailLine(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    for line in input.split(separator: 10, omittingEmptySubsequences: false) {
        let text = String(decoding: line, as: UTF8.self)
        _ = plain.line(jsonLine: text)
        _ = colored.line(jsonLine: text)
    }
    return 0
}

exit(runLibFuzzer(fuzzTailLine))
