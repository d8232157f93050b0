import ArgumentParser

// Placeholder until this subcommand is written; replaced by its owner.
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe", abstract: "(not written yet)")
    func run() async throws { throw ExitCode(70) }
}
