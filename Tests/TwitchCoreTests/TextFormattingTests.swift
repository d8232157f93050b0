import Testing
import TwitchCore

@Suite struct TextFormattingTests {
    @Test func trimmedRemovesOuterWhitespaceOnly() {
        #expect("  rate = 800 \t".trimmed == "rate = 800")
        #expect("\n left calf \r\n".trimmed == "left calf")
        #expect("   ".trimmed == "")
        #expect("".trimmed == "")
        #expect("x".trimmed == "x")
        #expect("a  b"[...].trimmed == "a  b")
    }

    @Test func paddedFillsToWidthAndNeverCuts() {
        #expect("ab".padded(toWidth: 5) == "ab   ")
        #expect("abcdef".padded(toWidth: 3) == "abcdef")
        #expect("".padded(toWidth: 2) == "  ")
        #expect("é".padded(toWidth: 2) == "é ")
    }

    @Test func fixedIsLocaleFree() {
        #expect(fixed(12.345, 1) == "12.3")
        #expect(fixed(-0.04, 1) == "0.0")
        #expect(fixed(-1.25, 2) == "-1.25")
        #expect(fixed(0.005, 3) == "0.005")
        #expect(fixed(.nan, 2) == "0")
    }
}
