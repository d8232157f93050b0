import ArgumentParser

// Placeholder until this subcommand is written; replaced by its owner.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "(not written yet)")
    func run() async throws { throw ExitCode(70) }
}
