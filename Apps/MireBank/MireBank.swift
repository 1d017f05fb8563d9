import ArgumentParser

/// `mire-bank`: a sample bank on Mire that demonstrates each pattern as a subcommand.
@main
struct MireBank: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mire-bank",
        abstract: "A sample bank built on Mire, the PostgreSQL event store for Swift.",
        discussion: """
            With neither --database nor MIRE_DATABASE_URL, mire-bank runs on an embedded PostgreSQL \
            server whose data is kept in ./.mire/postgres across invocations.
            """,
        subcommands: [
            Demo.self, Database.self, Open.self, Deposit.self, Withdraw.self, Close.self, Balance.self, History.self,
            Race.self, Ingest.self, Transfer.self, TransferStorm.self, Snapshot.self, Bench.self, Project.self,
            Accounts.self, Statement.self, Chaos.self,
        ]
    )
}
