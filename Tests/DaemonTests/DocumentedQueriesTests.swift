import Foundation
import Testing

/// Every `journalctl` line in the documentation that selects twitchd's entries by a field a
/// client can forge (`MESSAGE_ID`, `TWITCH_*`, `-t`/`SYSLOG_IDENTIFIER`) also selects a trusted
/// field journald sets itself (`_SYSTEMD_UNIT=twitchd.service` or `_UID=`).
@Suite struct DocumentedQueriesTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Logical lines (backslash continuations joined) that run journalctl.
    static func queries(in text: String) -> [String] {
        var out: [String] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            // Comment lines (catalog, shell) are scanned too: they show queries as well.
            let line = String(raw.drop { $0 == "#" || $0 == " " })
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let full = pending + line
            pending = ""
            if full.contains("journalctl") { out.append(full) }
        }
        return out
    }

    @Test func everyDocumentedQuerySelectsTrustedFields() throws {
        var files = ["README.md", "systemd/twitchd.catalog"]
        let docs = Self.root.appendingPathComponent("docs")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: docs.path)) ?? []
        where name.hasSuffix(".md") {
            files.append("docs/" + name)
        }
        var checked = 0
        for file in files {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            for q in Self.queries(in: text) {
                let forgeable =
                    q.contains("MESSAGE_ID=") || q.contains("TWITCH_") || q.contains(" -t twitchd")
                    || q.contains("SYSLOG_IDENTIFIER=")
                guard forgeable, !q.contains("--namespace") else { continue }
                // Prose that explains the forgery itself is not a query.
                if q.contains("logger --journald") || q.contains("what `journalctl -t twitchd` selects") {
                    continue
                }
                checked += 1
                #expect(
                    q.contains("_SYSTEMD_UNIT=twitchd.service") || q.contains("_UID="),
                    "\(file): a query selects only forgeable fields: \(q)")
            }
        }
        #expect(checked >= 8)
    }
}
