import ArgumentParser

// Placeholder until this subcommand is written; replaced by its owner.
struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "(not written yet)")
    func run() async throws { throw ExitCode(70) }
}
