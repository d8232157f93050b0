import ArgumentParser

// Placeholder until this subcommand is written; replaced by its owner.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "(not written yet)")
    func run() async throws { throw ExitCode(70) }
}
