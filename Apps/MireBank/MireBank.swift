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

    /// Parses and runs the command. A negative amount (`deposit a1 -5`) would otherwise read as
    /// an unknown option; it gets the message of any invalid amount instead.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let arguments = CommandLine.arguments.dropFirst()
            let amountCommands: Set<String> = ["deposit", "withdraw", "transfer"]
            if let first = arguments.first, amountCommands.contains(first),
                let negative = arguments.first(where: {
                    $0.count > 1 && $0.hasPrefix("-") && $0.dropFirst().allSatisfy { $0.isNumber || $0 == "." }
                })
            {
                exit(withError: ValidationError(Money.invalidMessage(negative)))
            }
            exit(withError: error)
        }
    }
}
