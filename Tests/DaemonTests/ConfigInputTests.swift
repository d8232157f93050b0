import Daemon
import Foundation
import Sensors
import Testing

/// Configuration files that are not what they seem: NUL bytes, invalid UTF-8, nan, dotted keys,
/// inline tables, table names that crash the TOML parser (issue 10).
@Suite struct ConfigInputTests {
    func issues(_ bytes: [UInt8]) -> [ConfigIssue] {
        do {
            _ = try ConfigLoader.parse(bytes: bytes, file: "c.toml", checkFiles: false, rules: ChipRules())
            return []
        } catch {
            return error.issues
        }
    }

    func issues(_ text: String) -> [ConfigIssue] { issues(Array(text.utf8)) }

    static let valid = "[[sensor]]\nbus = \"sim:adxl355\"\nlocation = \"left-calf\"\n"

    @Test func aNULByteIsRefusedWithItsLine() {
        // Before: the text ended at the NUL for the parser and `config check` said OK.
        var bytes = Array((Self.valid + "rate = 800\n[detector]\nsensitivity = \"bogus\"\n").utf8)
        bytes.insert(0, at: Self.valid.utf8.count + 3)
        let found = issues(bytes)
        #expect(found.count == 1)
        #expect(found.first?.line == 4)
        #expect(found.first?.message.contains("NUL") == true)
        // The String entry point refuses it too.
        var thrown = false
        do { _ = try ConfigLoader.parse(String(decoding: bytes, as: UTF8.self), file: "c.toml") } catch {
            thrown = true
            #expect(error.issues.first?.line == 4)
        }
        #expect(thrown)
    }

    @Test func invalidUTF8NamesItsLine() throws {
        var bytes = Array(Self.valid.utf8)
        bytes += Array("# caf".utf8) + [0xE9] + Array("\nrate = 800\n".utf8)
        let found = issues(bytes)
        #expect(found.first?.line == 4)
        #expect(found.first?.message.contains("UTF-8") == true)
        // Through a file as `config check` reads it.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("twitchd-\(UUID()).toml")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try ConfigLoader.load(path: url.path)
            Issue.record("expected an error")
        } catch {
            #expect(error.issues.first?.line == 4)
        }
    }

    @Test func nanNamesTheRealProblem() {
        let found = issues(Self.valid + "rate = nan\nspeed = inf\n")
        let messages = found.map(\.message)
        #expect(found.map(\.line) == [4, 5])
        #expect(messages == ["expected a finite number, found nan", "expected a finite number, found inf"])
        #expect(!messages.joined().contains("found a number"))
    }

    @Test func dottedKeysAndInlineTablesKeepTheirLines() {
        let text = """
            # sensors as inline tables
            sensor = [
              { bus = "sim:adxl355", location = "a" },
              { bus = "sim:lis3dh", location = "b", rate = 99999 },
            ]
            detector.sensitivity = "extreme"
            output = { journal = true, jornal = 1 }
            """
        let found = issues(text)
        let byKey = Dictionary(found.map { ($0.key ?? "-", $0.line) }, uniquingKeysWith: { a, _ in a })
        #expect(byKey["sensor[1].rate"] == 4)
        #expect(byKey["detector.sensitivity"] == 6)
        #expect(byKey["output.jornal"] == 7)
        // A dotted key inside a table.
        let dotted = issues(Self.valid + "sim.rate = 3\n")
        #expect(dotted.first?.key == "sensor[0].sim")
        #expect(dotted.first?.line == 4)
    }

    @Test func aTableNameTheParserCannotTakeIsASyntaxError() {
        // toml++ asserted (SIGABRT in a debug build, undefined behaviour in release) on these.
        for header in ["[/x]", "[[/i2t = \"none\"", "[ ?a]", "[[\u{E9}t\u{E9}]]", "[[", "[ ", "[#"] {
            let found = issues(Self.valid + header + "\n")
            #expect(found.count == 1, "\(header)")
            #expect(found.first?.line == 4, "\(header)")
            #expect(found.first?.message.contains("table name") == true, "\(header)")
        }
        // After a byte order mark too.
        #expect(issues("\u{FEFF} [[\u{1A}inet\n").first?.line == 1)
        // A combining mark after the bracket (found by the fuzzer: `[`, U+06EB, `ip`): Swift makes
        // one Character of `[` and the mark, so a header test on Characters missed it.
        for header in ["[\u{06EB}ip", "[[\u{0301}x]]", " [\u{20DD}]"] {
            let found = issues(Self.valid + header + "\n")
            #expect(found.first?.line == 4, "\(header.unicodeScalars.map(\.value))")
            #expect(
                found.first?.message.contains("table name") == true, "\(header.unicodeScalars.map(\.value))")
        }
        // Valid headers still parse.
        #expect(
            issues(Self.valid + "[ detector ]\nsensitivity = \"high\"\n[\"output\"]\njournal = false\n")
                .isEmpty)
    }

    @Test func aClosingBraceWhereAnArrayValueShouldBeIsASyntaxError() {
        // Found by the fuzzer: toml++ asserted (abort, in release builds too) on each of these.
        let cases: [(String, Int, Int)] = [
            ("a = [}]", 1, 6), ("a = [1,}", 1, 8), ("a = [ {}, } ]", 1, 11), ("a = [ # c\n}", 2, 1),
            ("a = { b = [ } }", 1, 13), ("sensor = [},\n  { bus = \"sim:adxl345\",  0}", 1, 11),
        ]
        for (text, line, column) in cases {
            let found = issues(text + "\n")
            #expect(found.count == 1, "\(text)")
            #expect(found.first?.line == line, "\(text)")
            #expect(found.first?.column == column, "\(text)")
        }
        // Braces in strings and comments, and inline tables in arrays, are fine.
        let fine = Self.valid + "interrupt = \"}\" # [}]\n[detector]\nsensitivity = 'high'\n"
        #expect(issues(fine).isEmpty)
        #expect(issues("sensor = [ { bus = \"sim:lis3dh\", location = \"a\" }, ]\n").isEmpty)
    }

    @Test func oversizedFileIsRefused() {
        let big = [UInt8](repeating: UInt8(ascii: "#"), count: ConfigLoader.maxFileBytes + 1)
        #expect(issues(big).first?.message.contains("at most") == true)
    }
}
