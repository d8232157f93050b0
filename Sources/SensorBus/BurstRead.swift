extension SensorBus {
    /// Reads `buffer.count` bytes of whole frames from one register in as few transactions as
    /// ``SensorBus/maxBurstLength`` allows, never splitting a frame across transactions.
    ///
    /// Every transaction starts at the same `register`. That is right for a FIFO data port read
    /// repeatedly (MPU-6050 `FIFO_R_W`, ADXL355 `FIFO_DATA`) and for output registers that wrap back
    /// to their start in FIFO mode (LIS3DH `OUT_X_L` with auto-increment); it is wrong for a plain
    /// auto-incrementing register block, which must not be read past its end.
    ///
    /// - Parameters:
    ///   - register: the register (with any auto-increment bit the chip needs already set).
    ///   - buffer: its length must be a multiple of `frameLength`.
    ///   - frameLength: bytes per frame (e.g. 6 for three 16-bit axes, 9 for three 20-bit axes).
    /// - Returns: the number of bus transactions used.
    @discardableResult
    public func readFrames(
        _ register: UInt8, into buffer: UnsafeMutableRawBufferPointer, frameLength: Int
    ) throws(BusError) -> Int {
        guard frameLength > 0, buffer.count % frameLength == 0 else {
            throw BusError(
                kind: .other, errno: 0, operation: "read 0x\(String(register, radix: 16)) x\(buffer.count)",
                hint: "\(buffer.count) bytes is not a whole number of \(frameLength)-byte frames")
        }
        let framesPerChunk = maxBurstLength / frameLength
        guard framesPerChunk > 0 else {
            throw BusError(
                kind: .unsupported, errno: 0,
                operation: "read 0x\(String(register, radix: 16)) x\(frameLength)",
                hint: "\(name) moves at most \(maxBurstLength) bytes a transaction, less than one frame")
        }
        let chunk = framesPerChunk * frameLength
        var offset = 0
        var transactions = 0
        while offset < buffer.count {
            let n = min(chunk, buffer.count - offset)
            try readRegisters(
                register, into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + n)]))
            offset += n
            transactions += 1
        }
        return transactions
    }
}
