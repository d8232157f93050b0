import ArgumentParser

// Placeholder until this subcommand is written; replaced by its owner.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "(not written yet)")
    func run() async throws { throw ExitCode(70) }
}
