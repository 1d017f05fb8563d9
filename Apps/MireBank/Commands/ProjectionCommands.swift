import ArgumentParser
import Foundation
import MireBankDomain
import MireProjections
import ServiceLifecycle

struct Project: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the read-model projection in the foreground (one of several replicas)."
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: "This worker's id; replicas must differ.") var workerID =
        "worker-\(ProcessInfo.processInfo.processIdentifier)"
    @Flag(help: "Stop once the read model has caught up with the log.") var untilCaughtUp = false

    func run() async throws {
        try await withBank(options) { bank in
            try await ReadModel.prepare(bank.store.pool)
            let runner = ReadModel.runner(bank: bank, workerID: workerID, logger: options.makeLogger())
            if untilCaughtUp {
                let head = try await bank.store.pool.withConnection { connection in
                    try await connection.query("SELECT coalesce(max(global_position), 0) FROM mire_events")
                        .single(Int64.self)
                }
                let progress = options.json ? nil : ProgressBar.onTerminal()
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        try await runner.runUntilCaughtUp()
                        return true
                    }
                    if let progress, head > 0 {
                        group.addTask {
                            // The checkpoint's position against the log's head when this began.
                            while !Task.isCancelled {
                                if let status = try? await runner.status(ReadModel.projectionName) {
                                    progress.update(
                                        label: "projecting", done: Int(clamping: min(status.cursorPosition, head - 1)),
                                        total: Int(clamping: head))
                                }
                                try? await Task.sleep(for: .milliseconds(500))
                            }
                            return false
                        }
                    }
                    while let caughtUp = try await group.next() {
                        if caughtUp { break }
                    }
                    group.cancelAll()
                }
                if head > 0 {
                    progress?.update(label: "projecting", done: Int(clamping: head), total: Int(clamping: head))
                }
                let status = try await runner.status(ReadModel.projectionName)
                try printOutput(status, json: options.json) {
                    "caught up: \(status.eventsHandled) events handled, checkpoint at position \(status.cursorPosition)"
                }
            } else {
                if !options.json { print("worker \(workerID) running; Ctrl-C to stop") }
                try await runUntilSignalled(runner, logger: options.makeLogger())
            }
        }
    }
}

struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every account from the read model.")
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let rows = try await withBank(options) { bank in
            try await ReadModel.prepare(bank.store.pool)
            return try await ReadModel.accounts(bank.store.pool)
        }
        try printOutput(rows, json: options.json) {
            rows.isEmpty
                ? "no accounts in the read model yet (run `mire-bank project --until-caught-up`)"
                : rows.map {
                    "\($0.account.padding(toLength: 24, withPad: " ", startingAt: 0)) \($0.owner.padding(toLength: 12, withPad: " ", startingAt: 0)) \($0.balance) \($0.open ? "" : "(closed)")"
                }
                .joined(separator: "\n")
        }
    }
}

struct Statement: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show an account's statement from the read model.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String

    func run() async throws {
        let lines = try await withBank(options) { bank in
            try await ReadModel.prepare(bank.store.pool)
            return try await ReadModel.statement(bank.store.pool, account: account)
        }
        try printOutput(lines, json: options.json) {
            lines.isEmpty
                ? "no statement for \(account) yet (run `mire-bank project --until-caught-up`)"
                : lines.map { line in
                    "v\(line.version)  \(line.kind.padding(toLength: 13, withPad: " ", startingAt: 0)) \((line.amount ?? "").padding(toLength: 10, withPad: " ", startingAt: 0)) balance \(line.balanceAfter)\(line.counterparty.map { "  (\($0))" } ?? "")"
                }.joined(separator: "\n")
        }
    }
}
