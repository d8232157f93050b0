// Fuzz target: spool recovery. The input is split into the position file (first 8 bytes) and the
// spool file (the rest) of a state directory; opening the spool recovers it (as the daemon does at
// start) and every entry it keeps is read back. Damage never traps or loops.
import FuzzSupport
import Journal

#if canImport(Glibc)
    import Glibc
#endif

let directory: String = {
    // tmpfs when there is one: the spool syncs its files.
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    var template = Array("\(base)/twitchd-fuzz-spool-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
        guard let base = buffer.baseAddress else { return false }
        return mkdtemp(base) != nil
    }
    precondition(made, "mkdtemp failed")
    return cString(template)
}()

func put(_ name: String, _ content: UnsafeBufferPointer<UInt8>) {
    let fd = open(directory + "/" + name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0)
    var off = 0
    while off < content.count, let base = content.baseAddress {
        let n = write(fd, base + off, content.count - off)
        if n <= 0 { break }
        off += n
    }
    close(fd)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpool(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let split = min(8, input.count)
    put("journal.spool.pos", UnsafeBufferPointer(rebasing: input[0..<split]))
    put("journal.spool", UnsafeBufferPointer(rebasing: input[split...]))
    var total = 0
    let delivered = try? SpoolDrain.drain(directory: directory) { total += $0.count }
    precondition(total <= input.count, "recovered more bytes than the spool holds")
    // A second open after draining finds an empty spool.
    if delivered != nil, let again = try? SpoolDrain.drain(directory: directory, { _ in }) {
        precondition(again == 0, "entries delivered twice")
    }
    return 0
}

exit(runLibFuzzer(fuzzSpool))
