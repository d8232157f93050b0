// Spool recovery as a driver outside the module sees it (the fuzz target, Fuzz/Sources/FuzzSpool):
// open a state directory's spool the way the daemon does at start, then drain it.

/// Opens the on-disk spool in a state directory, as the daemon does at start (recovering what
/// an earlier run left), and reads out what it holds.
package enum SpoolDrain {
    /// Opens the spool in `directory` (creating it if needed), hands every pending entry to
    /// `body` oldest first while marking it delivered, and closes the files. Returns how many
    /// entries were delivered.
    package static func drain(directory: String, _ body: ([UInt8]) -> Void) throws(SystemError) -> Int {
        let spool = try FileSpool(directory: directory)
        defer { spool.closeFiles() }
        var n = 0
        // At most as many entries as the spool said it held: recovery must not loop.
        let pending = spool.pendingEntries
        while n < pending, let entry = spool.peek() {
            body(entry)
            spool.removeFirst()
            n += 1
        }
        return n
    }
}
