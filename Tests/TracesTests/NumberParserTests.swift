import Testing

@testable import Traces

@Suite("NumberParser")
struct NumberParserTests {
    func parse(_ s: String, decimalComma: Bool = false) -> ParsedNumber {
        var s = s
        return s.withUTF8 { u in
            guard let base = u.baseAddress else { return .notANumber }
            return NumberParser.parse(base, u.count, decimalComma: decimalComma)
        }
    }

    func value(_ s: String) -> Double? {
        if case .value(let v) = parse(s) { return v }
        return nil
    }

    @Test func matchesCorrectlyRoundedParsing() {
        let cases = [
            "0", "-0", "1", "0.1", "-0.698000", "1.147378E+00", "3.195226E-04", "9.590904e0", "+2.5",
            "12345678901234567890", "1e22", "1e23", "1e-300", "0.000000000000000000000001",
            "1700000000.123456", "123.456e-5", " 7 ", "\"1.5\"", "4.9406564584124654e-324",
            "0.1234567890123456789012",
        ]
        for c in cases {
            let expected = Double(c.trimmingCharacters(in: [" ", "\""]))
            #expect(value(c) == expected, "\(c)")
        }
        // Pseudo-random values printed with various precisions round-trip exactly.
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<5000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let v = Double(Int64(bitPattern: x >> 11)) / Double(1 << 40)
            let text = "\(v)"
            #expect(value(text) == v, "\(text)")
        }
    }

    @Test func rejectsWhatIsNotANumber() {
        for c in ["", " ", "x", "1.2.3", "1e", "--1", "0x10", "1,5", "e5", ".", "-"] {
            if case .value = parse(c) { Issue.record("accepted '\(c)'") }
        }
        for c in ["nan", "NaN", "-inf", "Infinity", "1e400"] {
            if case .nonFinite = parse(c) {} else { Issue.record("'\(c)' not reported as non-finite") }
        }
        if case .value(let v) = parse("1,5", decimalComma: true) {
            #expect(v == 1.5)
        } else {
            Issue.record("decimal comma")
        }
    }
}

@Suite("RFC3339")
struct RFC3339Tests {
    @Test func parseAndFormat() {
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("2000-03-01T00:00:00Z") == 951_868_800)
        #expect(RFC3339.parse("2026-11-26T23:00:00.250Z") == 1_795_734_000.25)
        #expect(RFC3339.parse("2026-11-27T00:00:00+01:00") == 1_795_734_000)
        #expect(RFC3339.parse("2026-13-01T00:00:00Z") == nil)
        #expect(RFC3339.parse("2026-11-26") == nil)
        #expect(RFC3339.format(1_795_734_000.25) == "2026-11-26T23:00:00.250Z")
        #expect(RFC3339.format(951_868_800) == "2000-03-01T00:00:00.000Z")
        for t in stride(from: -1e9, through: 4e9, by: 7_654_321.123) {
            let back = RFC3339.parse(RFC3339.format(t)) ?? .nan
            #expect(abs(back - t) < 0.0006)
        }
    }
}
