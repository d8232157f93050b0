import ArgumentParser

// Placeholder until this subcommand is written; replaced by its owner.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "(not written yet)")
    func run() async throws { throw ExitCode(70) }
}
