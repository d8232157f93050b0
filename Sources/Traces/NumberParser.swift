#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Result of parsing one CSV cell.
enum ParsedNumber {
    case value(Double)
    case notANumber
    case nonFinite
}

/// Decimal number parsing straight from bytes, without making a String per cell.
///
/// Accepts `[+-]digits[.digits][(e|E)[+-]digits]`, optionally wrapped in spaces or double quotes.
/// Up to 19 significant digits with a decimal exponent in -22...22 (every trace written by a
/// sensor or by phyphox) are converted exactly with Clinger's fast path; anything else falls back
/// to `strtod` on a stack copy, so results always equal correctly rounded parsing.
enum NumberParser {
    @inline(__always)
    static func parse(_ start: UnsafePointer<UInt8>, _ count: Int, decimalComma: Bool = false)
        -> ParsedNumber
    {
        var lo = 0
        var hi = count
        while lo < hi, start[lo] == 32 || start[lo] == 34 || start[lo] == 9 { lo += 1 }
        while hi > lo, start[hi - 1] == 32 || start[hi - 1] == 34 || start[hi - 1] == 9 || start[hi - 1] == 13
        {
            hi -= 1
        }
        if lo == hi { return .notANumber }
        var i = lo
        var negative = false
        if start[i] == 45 {
            negative = true
            i += 1
        } else if start[i] == 43 {
            i += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var digits = 0
        var exact = true
        while i < hi {
            let d = start[i] &- 48
            if d > 9 { break }
            digits += 1
            if significant < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { significant += 1 }
            } else {
                exponent += 1
                if d != 0 { exact = false }
            }
            i += 1
        }
        let point: UInt8 = decimalComma ? 44 : 46
        if i < hi, start[i] == point || start[i] == 46 {
            i += 1
            while i < hi {
                let d = start[i] &- 48
                if d > 9 { break }
                digits += 1
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    if mantissa != 0 { significant += 1 }
                    exponent -= 1
                } else if d != 0 {
                    exact = false
                }
                i += 1
            }
        }
        if digits == 0 {
            return isNonFiniteWord(start + i, hi - i) ? .nonFinite : .notANumber
        }
        if i < hi, start[i] | 0x20 == 101 {
            i += 1
            var expNegative = false
            if i < hi, start[i] == 45 {
                expNegative = true
                i += 1
            } else if i < hi, start[i] == 43 {
                i += 1
            }
            var e = 0
            var expDigits = 0
            while i < hi {
                let d = start[i] &- 48
                if d > 9 { break }
                if e < 100_000 { e = e * 10 + Int(d) }
                expDigits += 1
                i += 1
            }
            if expDigits == 0 { return .notANumber }
            exponent += expNegative ? -e : e
        }
        if i != hi { return .notANumber }
        if mantissa == 0 { return .value(negative ? -0.0 : 0.0) }
        if exact, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            var v = Double(mantissa)
            if exponent >= 0 { v *= pow10(exponent) } else { v /= pow10(-exponent) }
            return .value(negative ? -v : v)
        }
        return slowParse(start + lo, hi - lo, decimalComma: decimalComma)
    }

    @inline(__always)
    static func pow10(_ e: Int) -> Double {
        switch e {
        case 0: return 1
        case 1: return 1e1
        case 2: return 1e2
        case 3: return 1e3
        case 4: return 1e4
        case 5: return 1e5
        case 6: return 1e6
        case 7: return 1e7
        case 8: return 1e8
        case 9: return 1e9
        case 10: return 1e10
        case 11: return 1e11
        case 12: return 1e12
        case 13: return 1e13
        case 14: return 1e14
        case 15: return 1e15
        case 16: return 1e16
        case 17: return 1e17
        case 18: return 1e18
        case 19: return 1e19
        case 20: return 1e20
        case 21: return 1e21
        default: return 1e22
        }
    }

    static func slowParse(_ p: UnsafePointer<UInt8>, _ n: Int, decimalComma: Bool) -> ParsedNumber {
        guard n < 120 else { return .notANumber }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf -> ParsedNumber in
            for k in 0..<n {
                let c = p[k]
                buf[k] = CChar(bitPattern: decimalComma && c == 44 ? 46 : c)
            }
            buf[n] = 0
            guard let base = buf.baseAddress else { return .notANumber }
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(base, &end)
            guard let end, end - base == n else { return .notANumber }
            return v.isFinite ? .value(v) : .nonFinite
        }
    }

    /// True for a cell of nothing but spaces, tabs, double quotes and a carriage return: an
    /// empty cell.
    static func isBlank(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        for k in 0..<n {
            let c = p[k]
            if c != 32 && c != 9 && c != 34 && c != 13 { return false }
        }
        return true
    }

    /// `nan`, `inf`, `infinity` in any case (the sign was already consumed).
    static func isNonFiniteWord(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        func matches(_ word: StaticString) -> Bool {
            guard word.utf8CodeUnitCount == n else { return false }
            let w = word.utf8Start
            for k in 0..<n where p[k] | 0x20 != w[k] { return false }
            return true
        }
        return matches("nan") || matches("inf") || matches("infinity")
    }
}
