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
    /// an unknown option; it gets the message of any invalid amount instead. Errors from running
    /// the command are reported as they are.
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: negativeAmountError(for: error) ?? error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// The amount message, when parsing failed on an amount command because a negative number
    /// was taken for an option.
    static func negativeAmountError(for error: any Error) -> (any Error)? {
        guard exitCode(for: error) != .success else { return nil }  // help, --version
        let arguments = CommandLine.arguments.dropFirst()
        guard let first = arguments.first, ["deposit", "withdraw", "transfer"].contains(first) else { return nil }
        let negative = arguments.first { argument in
            argument.count > 1 && argument.hasPrefix("-")
                && argument.dropFirst().allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "." }
        }
        return negative.map { ValidationError(Money.invalidMessage($0)) }
    }
}
