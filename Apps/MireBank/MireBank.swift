import ArgumentParser
import Foundation
import MireBankDomain
import MirePostgres

/// `mire-bank`: a sample bank on Mire that demonstrates each pattern as a subcommand.
/// The `mire-bank` command line, run by the executable's `main.swift` (the commands live in this
/// library so that tests can import them).
///
/// ```swift
/// await MireBankCommandLine.run()
/// ```
public enum MireBankCommandLine {
    /// Parses `CommandLine.arguments`, runs the command and exits with its status.
    public static func run() async { await MireBank.main() }
}

struct MireBank: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mire-bank",
        abstract: "A sample bank built on Mire, the PostgreSQL event store for Swift.",
        discussion: """
            With neither --database nor MIRE_DATABASE_URL, mire-bank runs on an embedded PostgreSQL \
            server whose data is kept in ./.mire/postgres across invocations.
            """,
        version: Mire.version,
        subcommands: [
            Demo.self, Database.self, Open.self, Deposit.self, Withdraw.self, Close.self, Balance.self, History.self,
            Race.self, Ingest.self, Transfer.self, TransferStorm.self, Snapshot.self, Bench.self, Project.self,
            Accounts.self, Statement.self, Saga.self, OutboxCommand.self, Chaos.self,
        ]
    )

    /// Parses and runs the command. Global options may come before the subcommand. A negative
    /// amount (`deposit a1 -5`) would otherwise read as an unknown option; it gets the message
    /// of any invalid amount instead. A failure is reported on standard error — as JSON under
    /// `--json` — and sets the exit code of its kind (see ``ExitStatus``).
    static func main() async {
        let arguments = GlobalOptionHoisting.hoisted(Array(CommandLine.arguments.dropFirst()))
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(reporting: negativeAmountError(for: error, arguments: arguments) ?? error, arguments: arguments)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error where error is ExitCode || error is CleanExit {
            exit(withError: error)  // reported already, or help
        } catch let error where error is ValidationError {
            exit(reporting: error, arguments: arguments)
        } catch {
            let code = ExitStatus.code(for: error)
            report(ExitStatus.message(for: error), code: code, json: arguments.contains("--json"))
            exit(withError: code)
        }
    }

    /// Exits after an error of the command line: ArgumentParser's own report (with the usage),
    /// or under `--json` the same message as `{"error": {…}}`. Help and `--version` print as
    /// usual.
    static func exit(reporting error: any Error, arguments: [String]) -> Never {
        let code = exitCode(for: error)
        guard arguments.contains("--json"), code != .success else { exit(withError: error) }
        report(message(for: error), code: code, json: true)
        exit(withError: code)
    }

    /// Writes a failure to standard error, as a line or as `{"error": {…}}`.
    static func report(_ message: String, code: ExitCode, json: Bool) {
        struct Report: Encodable {
            struct Failure: Encodable {
                var message: String
                var exitCode: Int32
            }
            var error: Failure
        }
        var text = "Error: \(message)"
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            if let data = try? encoder.encode(Report(error: .init(message: message, exitCode: code.rawValue))) {
                text = String(decoding: data, as: UTF8.self)
            }
        }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// The amount message, when parsing failed on an amount command because a negative number
    /// was taken for an option.
    static func negativeAmountError(for error: any Error, arguments: [String]) -> (any Error)? {
        guard exitCode(for: error) != .success else { return nil }  // help, --version
        guard let first = arguments.first, ["deposit", "withdraw", "transfer"].contains(first) else { return nil }
        let negative = arguments.first { argument in
            argument.count > 1 && argument.hasPrefix("-")
                && argument.dropFirst().allSatisfy { ($0.isASCII && $0.isNumber) || $0 == "." }
        }
        return negative.map { ValidationError(Money.invalidMessage($0)) }
    }
}
