// Fuzz target: a trace file of any content through TraceReader's format detection (generic CSV,
// phyphox, gzip of either, and every format the reader learns later), read to the end, tolerant
// and strict. Whatever the bytes, the reader returns samples and a TraceError, never traps, and
// every sample it returns is finite with increasing time.
import FuzzSupport
import Traces
import TwitchCore

#if canImport(Glibc)
    import Glibc
#endif

nonisolated(unsafe) let file = MemoryFile(name: "trace")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTraceReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    file.set(input)
    // The first byte picks the options, so both modes and the unit override are explored.
    let mode = input.first ?? 0
    let options = TraceReadOptions(
        strict: mode & 1 == 1, units: mode & 6 == 2 ? .metersPerSecondSquared : nil)
    guard var reader = try? TraceReader(path: file.path, options: options) else { return 0 }
    precondition(reader.sampleRate.isFinite && reader.sampleRate >= 0)
    var last = -Double.infinity
    var n = 0
    while true {
        guard let s = try? reader.next() else { break }
        precondition(s.time > last, "time must increase")
        precondition(
            s.time.isFinite && s.acceleration.x.isFinite && s.acceleration.y.isFinite
                && s.acceleration.z.isFinite, "samples must be finite")
        last = s.time
        n += 1
    }
    precondition(reader.samplesRead == n)
    _ = reader.skipped.description
    return 0
}

exit(runLibFuzzer(fuzzTraceReader))
