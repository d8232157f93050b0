import ArgumentParser

// Placeholder until this subcommand is written; replaced by its owner.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulate", abstract: "(not written yet)")
    func run() async throws { throw ExitCode(70) }
}
