import ArgumentParser

/// `naksha`: the one binary. Subcommands are added as their subsystems are built; see
/// `naksha dev` for what exists today.
@main
struct NakshaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "naksha",
        abstract: "Workflow graphs and sharded vector search on a Raft-coordinated worker pool.",
        version: NakshaVersion.current,
        subcommands: [
            DevCommand.self, CoordinatorCommand.self, ClusterCommand.self, BenchCommand.self, GraphCommand.self, MigrateCommand.self,
            WireCommand.self, WorkerCommand.self, IngestCommand.self, AskCommand.self, SubmitCommand.self, JobCommand.self, JobsCommand.self, CollectionCommand.self, ShardsCommand.self,
            QueryCommand.self,
        ]
    )
}

enum NakshaVersion {
    static let current = "0.1.0-dev"
}
