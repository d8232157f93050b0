import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// docs/many-wearers.md's TLS setup, as written there, on loopback: a study CA signs the
/// collector's and each Pi's certificate; stunnel (Debian 12's systemd-journal-remote has no TLS
/// of its own) accepts only clients with a certificate of that CA and passes them to
/// systemd-journal-remote listening on loopback; systemd-journal-upload sends over HTTPS with its
/// key, certificate and the CA. An enrolled wearer's journal arrives and is reported; a machine
/// with a certificate from another CA is refused and nothing of it arrives.
@Suite(
    .serialized,
    .enabled(if: Prerequisite.journald, Comment(rawValue: JournaldNamespace.unavailableReason ?? "")))
struct ManyWearersTLSTests {
    static let stunnel = ["/usr/bin/stunnel4", "/usr/bin/stunnel", "/usr/sbin/stunnel"]
        .first { (p: String) in access(p, X_OK) == 0 }
    static let openssl = ["/usr/bin/openssl"].first { (p: String) in access(p, X_OK) == 0 }

    /// A CA (`name`.key, `name`.pem) in `dir`.
    static func makeCA(_ openssl: String, name: String, dir: String) throws {
        let (status, _, err) = try runProcess(
            openssl,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(name)",
                "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).pem",
            ])
        #expect(status == 0, "\(err)")
    }

    /// A key and certificate for `name` signed by the CA `ca`, with `san` as subjectAltName.
    static func makeCertificate(_ openssl: String, name: String, san: String, ca: String, dir: String) throws
    {
        var (status, _, err) = try runProcess(
            openssl,
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name)", "-keyout",
                "\(dir)/\(name).key",
                "-out", "\(dir)/\(name).csr",
            ])
        #expect(status == 0, "\(err)")
        try "subjectAltName=\(san)\n".write(toFile: "\(dir)/\(name).ext", atomically: true, encoding: .utf8)
        (status, _, err) = try runProcess(
            openssl,
            [
                "x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/\(ca).pem", "-CAkey",
                "\(dir)/\(ca).key",
                "-CAcreateserial", "-days", "2", "-extfile", "\(dir)/\(name).ext", "-out",
                "\(dir)/\(name).pem",
            ])
        #expect(status == 0, "\(err)")
    }

    @Test(
        .enabled(
            if: ManyWearersTests.journalRemote, Comment(rawValue: ManyWearersTests.journalRemoteMissing)),
        .enabled(
            if: Prerequisite.met(stunnel != nil && openssl != nil),
            "needs stunnel and openssl (apt-get install stunnel4 openssl)"))
    func onlyEnrolledMachinesUploadOverTLS() throws {
        let (remote, upload, twitchd) = try ManyWearersTests.tools()
        let stunnel = try #require(Self.stunnel, "stunnel not installed (apt-get install stunnel4)")
        let openssl = try #require(Self.openssl, "openssl not installed (apt-get install openssl)")
        let (dir, received) = try ManyWearersTests.workFolder("tls")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // The study's CA, the collector and one enrolled Pi; a stranger with a CA of its own.
        try Self.makeCA(openssl, name: "study-ca", dir: dir)
        try Self.makeCertificate(openssl, name: "collector", san: "IP:127.0.0.1", ca: "study-ca", dir: dir)
        try Self.makeCertificate(openssl, name: "pi-p01", san: "DNS:pi-p01", ca: "study-ca", dir: dir)
        try Self.makeCA(openssl, name: "other-ca", dir: dir)
        try Self.makeCertificate(openssl, name: "stranger", san: "DNS:stranger", ca: "other-ca", dir: dir)

        let (a, b) = try ManyWearersTests.twoWearers(("p01", "x99"), prefix: "tl", twitchd: twitchd, dir: dir)
        defer {
            a.destroy()
            b.destroy()
        }

        // The collector: journal-remote on loopback HTTP, stunnel in front of it checking clients.
        let httpPort = Int.random(in: 20_000...40_000)
        let tlsPort = httpPort + 20_000
        let server = Process()
        server.executableURL = URL(fileURLWithPath: remote)
        server.arguments = [
            "--listen-http=127.0.0.1:\(httpPort)", "--output=\(received)/all.journal", "--split-mode=none",
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            if server.isRunning {
                server.terminate()
                server.waitUntilExit()
            }
        }
        try """
        foreground = yes
        pid =
        output = \(dir)/stunnel.log
        [journal]
        accept = 127.0.0.1:\(tlsPort)
        connect = 127.0.0.1:\(httpPort)
        cert = \(dir)/collector.pem
        key = \(dir)/collector.key
        CAfile = \(dir)/study-ca.pem
        requireCert = yes
        verifyChain = yes

        """.write(toFile: "\(dir)/stunnel.conf", atomically: true, encoding: .utf8)
        let terminator = Process()
        terminator.executableURL = URL(fileURLWithPath: stunnel)
        terminator.arguments = ["\(dir)/stunnel.conf"]
        terminator.standardOutput = FileHandle.nullDevice
        terminator.standardError = FileHandle.nullDevice
        try terminator.run()
        defer {
            // SIGKILL: the test process's threads block SIGTERM, the child inherits that mask, and
            // stunnel (unlike journal-remote, which reads signals from a signalfd) never sees it.
            if terminator.isRunning {
                kill(terminator.processIdentifier, SIGKILL)
                terminator.waitUntilExit()
            }
        }
        usleep(800_000)

        func send(_ ns: JournaldNamespace, as machine: String, state: String) throws -> (Int32, String) {
            let source = try #require(
                ManyWearersTests.journalDirectory(ns), "no journal files for \(ns.name)")
            let (status, _, err) = try runProcess(
                upload,
                [
                    "--url=https://127.0.0.1:\(tlsPort)", "--directory=\(source)", "--follow=no",
                    "--save-state=\(dir)/\(state)", "--key=\(dir)/\(machine).key",
                    "--cert=\(dir)/\(machine).pem",
                    "--trust=\(dir)/study-ca.pem",
                ])
            return (status, err)
        }
        let enrolled = try send(a, as: "pi-p01", state: "upload-a")
        #expect(enrolled.0 == 0, "\(enrolled.1)")
        let stranger = try send(b, as: "stranger", state: "upload-b")
        #expect(stranger.0 != 0, "a certificate of another CA was accepted: \(stranger.1)")
        usleep(300_000)
        server.terminate()
        server.waitUntilExit()

        let (csv, lines) = try ManyWearersTests.reportByMachine(twitchd, received)
        #expect(lines.contains { $0.hasPrefix("p01,") }, "\(csv)")
        #expect(!lines.contains { $0.hasPrefix("x99,") }, "the stranger's journal arrived: \(csv)")
    }
}
