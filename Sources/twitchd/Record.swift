import ArgumentParser

// Placeholder until this subcommand is written; replaced by its owner.
struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "record", abstract: "(not written yet)")
    func run() async throws { throw ExitCode(70) }
}
