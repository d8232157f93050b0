import Foundation
import Testing
import TwitchCore

@testable import Traces

// Tiny writers of the device formats, so the readers are tested on files whose every value the
// test knows. Each follows the format's documentation, independently of the reader's code.

/// Reads every sample of a recording of any format.
func readRecording(_ path: String) throws(TraceError) -> (Recording, [TwitchCore.Sample], TraceError?) {
    let r = try Recording(path: path)
    var out: [TwitchCore.Sample] = []
    let buffer = UnsafeMutableBufferPointer<TwitchCore.Sample>.allocate(capacity: 1000)
    defer { buffer.deallocate() }
    do {
        while true {
            let n = try r.read(into: buffer)
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
    } catch {
        return (r, out, error)
    }
    return (r, out, nil)
}

/// Where the real recordings are (`scripts/fetch-real-data`), when this one is there.
func realFile(_ relative: String) -> String? {
    let env = ProcessInfo.processInfo.environment
    let root = env["TWITCHD_REAL_DATA"] ?? (NSHomeDirectory() + "/.cache/twitchd/realdata")
    let path = root + "/" + relative
    return FileManager.default.fileExists(atPath: path) ? path : nil
}

// MARK: GENEActiv .bin

struct GENEActivWriter {
    var gains = (25139, 25087, 25285)
    var offsets = (499, -761, -536)
    var zone = "GMT -04:00"
    var serial = "046140"

    /// One page: local time text, temperature, rate, and raw 12-bit (x, y, z) triples.
    struct Page {
        var time: String
        var temperature = 25.0
        var rate = 100.0
        var raw: [(Int, Int, Int)]
        var corrupt = false
    }

    func file(_ pages: [Page]) -> String {
        var s = "Device Identity\r\nDevice Unique Serial Code:\(serial)\r\nDevice Type:GENEActiv\r\n"
        s += "Device Model:1.1\r\n\r\nConfiguration Info\r\nMeasurement Frequency:100 Hz\r\n"
        s += "Time Zone:\(zone)\r\n\r\nSubject Info\r\nDevice Location Code:left wrist\r\n\r\n"
        s += "Calibration Data\r\nx gain:\(gains.0)\r\nx offset:\(offsets.0)\r\ny gain:\(gains.1)\r\n"
        s +=
            "y offset:\(offsets.1)\r\nz gain:\(gains.2)\r\nz offset:\(offsets.2)\r\nVolts:300\r\nLux:800\r\n\r\n"
        s += "Memory Status\r\nNumber of Pages:\(pages.count)\r\n\r\n"
        for (k, p) in pages.enumerated() {
            s += "Recorded Data\r\nDevice Unique Serial Code:\(serial)\r\nSequence Number:\(k)\r\n"
            s += "Page Time:\(p.time)\r\nUnassigned:\r\nTemperature:\(p.temperature)\r\n"
            s += "Battery voltage:4.1\r\nDevice Status:Recording\r\nMeasurement Frequency:\(p.rate)\r\n"
            var hex = ""
            for (x, y, z) in p.raw {
                let word = UInt64(x & 0xFFF) << 36 | UInt64(y & 0xFFF) << 24 | UInt64(z & 0xFFF) << 12 | 0x5A4
                let h = String(word, radix: 16, uppercase: true)
                hex += String(repeating: "0", count: 12 - h.count) + h
            }
            if p.corrupt { hex = "G" + hex.dropFirst() }
            s += hex + "\r\n"
        }
        return s
    }

    /// The vendor's formula: (raw * 100 - offset) / gain.
    func g(_ raw: Int, axis: Int) -> Double {
        let gain = [gains.0, gains.1, gains.2][axis]
        let offset = [offsets.0, offsets.1, offsets.2][axis]
        return (Double(raw) * 100 - Double(offset)) / Double(gain)
    }
}

// MARK: Axivity .cwa

struct CWAWriter {
    var deviceId = 4321
    var rateCode = 0x4A  // 100 Hz, +-8 g
    var hardware: UInt8 = 0x17

    func header() -> [UInt8] {
        var h = [UInt8](repeating: 0xFF, count: 1024)
        h[0] = 0x4D
        h[1] = 0x44
        put16(&h, 2, 1020)
        h[4] = hardware
        put16(&h, 5, deviceId & 0xFFFF)
        put16(&h, 11, 0xFFFF)
        h[36] = UInt8(rateCode)
        put16(&h, 42, 0xFFFF)  // time zone unknown
        return h
    }

    /// Packed time stamp YYYYYYMM MMDDDDDh hhhhmmmm mmssssss.
    static func stamp(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> UInt32 {
        // In parts: Swift 6.0.3 gives up type-checking the one-line expression.
        let year: Int = (y - 2000) << 26
        let day: Int = mo << 22 | d << 17
        let time: Int = h << 12 | mi << 6 | s
        return UInt32(year | day | time)
    }

    /// A data block. `packed`: 3 axes in 32 bits (exponent 0, values must fit 10 bits);
    /// otherwise 16-bit values for `axes` axes (AX6: gyro first, accel `values`).
    func block(
        sequence: Int, stamp: UInt32, fraction: Int?, offset: Int, values: [(Int, Int, Int)],
        packed: Bool = true, axes: Int = 3, accelScaleCode: Int = 0, badChecksum: Bool = false
    ) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 512)
        b[0] = 0x41
        b[1] = 0x58
        put16(&b, 2, 508)
        put16(&b, 4, fraction.map { 0x8000 | ($0 >> 1) } ?? deviceId & 0x7FFF)
        put32(&b, 10, UInt32(sequence))
        put32(&b, 14, stamp)
        put16(&b, 18, accelScaleCode << 13 | 100)
        put16(&b, 20, 300)  // temperature 300 * 75 / 256 - 50 = 37.9 C
        b[24] = UInt8(rateCode)
        b[25] = UInt8(axes << 4 | (packed ? 0 : 2))
        put16(&b, 26, offset & 0xFFFF)
        put16(&b, 28, values.count)
        for (i, v) in values.enumerated() {
            if packed {
                let word =
                    UInt32(v.0 & 0x3FF) | UInt32(v.1 & 0x3FF) << 10 | UInt32(v.2 & 0x3FF) << 20 | 3 << 30
                put32(&b, 30 + 4 * i, word)
            } else {
                let base = 30 + 2 * axes * i + (axes == 3 ? 0 : 6)
                if axes != 3 {
                    for k in 0..<3 { put16(&b, 30 + 2 * axes * i + 2 * k, 1234) }
                }
                put16(&b, base, v.0 & 0xFFFF)
                put16(&b, base + 2, v.1 & 0xFFFF)
                put16(&b, base + 4, v.2 & 0xFFFF)
            }
        }
        var sum: UInt16 = 0
        for w in 0..<255 { sum &+= UInt16(b[2 * w]) | UInt16(b[2 * w + 1]) << 8 }
        let check = (0 &- sum) &+ (badChecksum ? 1 : 0)
        put16(&b, 510, Int(check))
        return b
    }
}

func put16(_ b: inout [UInt8], _ i: Int, _ v: Int) {
    b[i] = UInt8(v & 0xFF)
    b[i + 1] = UInt8(v >> 8 & 0xFF)
}

func put32(_ b: inout [UInt8], _ i: Int, _ v: UInt32) {
    for k in 0..<4 { b[i + k] = UInt8(v >> (8 * UInt32(k)) & 0xFF) }
}

// MARK: zip and ActiGraph .gt3x

/// CRC-32 (IEEE), bit by bit.
func crc32Of(_ data: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for byte in data {
        c ^= UInt32(byte)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
    }
    return ~c
}

/// A zip archive of stored (uncompressed) members.
func storedZip(_ members: [(String, [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    var directory: [UInt8] = []
    for (name, data) in members {
        let offset = out.count
        let crc = crc32Of(data)
        let nameBytes = Array(name.utf8)
        var local = [UInt8](repeating: 0, count: 30)
        put32(&local, 0, 0x0403_4B50)
        put16(&local, 4, 20)
        put32(&local, 14, crc)
        put32(&local, 18, UInt32(data.count))
        put32(&local, 22, UInt32(data.count))
        put16(&local, 26, nameBytes.count)
        out += local + nameBytes + data
        var central = [UInt8](repeating: 0, count: 46)
        put32(&central, 0, 0x0201_4B50)
        put16(&central, 4, 20)
        put16(&central, 6, 20)
        put32(&central, 16, crc)
        put32(&central, 20, UInt32(data.count))
        put32(&central, 24, UInt32(data.count))
        put16(&central, 28, nameBytes.count)
        put32(&central, 42, UInt32(offset))
        directory += central + nameBytes
    }
    var end = [UInt8](repeating: 0, count: 22)
    put32(&end, 0, 0x0605_4B50)
    put16(&end, 8, members.count)
    put16(&end, 10, members.count)
    put32(&end, 12, UInt32(directory.count))
    put32(&end, 16, UInt32(out.count))
    return out + directory + end
}

/// Rewrites a stored zip with deflate through python3's zipfile (nil when python3 is missing).
func deflatedCopy(of storedPath: String, to path: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [
        "python3", "-c",
        "import sys,zipfile\nsrc=zipfile.ZipFile(sys.argv[1])\n"
            + "dst=zipfile.ZipFile(sys.argv[2],'w',zipfile.ZIP_DEFLATED)\n"
            + "[dst.writestr(i.filename, src.read(i)) for i in src.infolist()]\ndst.close()",
        storedPath, path,
    ]
    do { try p.run() } catch { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

struct GT3XWriter {
    var rate = 30
    var scale = 256.0
    var zone = "-05:00:00"

    func info() -> [UInt8] {
        Array(
            """
            Serial Number: TAS1TEST0001
            Device Type: wGT3XBT
            Firmware: 1.7.1
            Sample Rate: \(rate)
            TimeZone: \(zone)
            Acceleration Scale: \(scale)
            Limb: Wrist
            Side: Left

            """.utf8)
    }

    /// One record: 0x1E, type, time stamp, size, payload, checksum.
    static func record(type: UInt8, stamp: UInt32, payload: [UInt8], badChecksum: Bool = false) -> [UInt8] {
        var r: [UInt8] = [0x1E, type, 0, 0, 0, 0, 0, 0]
        put32(&r, 2, stamp)
        put16(&r, 6, payload.count)
        r += payload
        var x: UInt8 = 0
        for b in r { x ^= b }
        r.append(~x &+ (badChecksum ? 1 : 0))
        return r
    }

    /// An ACTIVITY2 payload: int16 x, y, z per sample.
    static func activity2(_ values: [(Int, Int, Int)]) -> [UInt8] {
        var p: [UInt8] = []
        for (x, y, z) in values {
            var six = [UInt8](repeating: 0, count: 6)
            put16(&six, 0, x & 0xFFFF)
            put16(&six, 2, y & 0xFFFF)
            put16(&six, 4, z & 0xFFFF)
            p += six
        }
        return p
    }
}
