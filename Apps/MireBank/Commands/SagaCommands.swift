import ArgumentParser
import Foundation
import Logging
import MireBankDomain
import MirePQ
import MireSagas
import ServiceLifecycle

struct Saga: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Transfers run as a saga, in steps, without a transaction over both accounts.",
        subcommands: [SagaTransfer.self, SagaRun.self, SagaStatus.self]
    )
}

struct SagaTransfer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Request a transfer; `saga run` carries it out (reserve, credit, complete, or return the money)."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account to take money from.") var from: String
    @Argument(help: "The account to give it to.") var to: String
    @Argument(help: "The amount, e.g. 25 or 12.50.", transform: Money.parse) var amount: Money
    @Option(help: "The transfer's id (requesting an id twice is refused).") var id =
        "t-"
        + UUID().uuidString
        .prefix(8).lowercased()

    struct Report: Encodable {
        var transfer: String
        var from: String
        var to: String
        var amount: String
    }

    func run() async throws {
        try await withBank(options) { bank in
            try await bank.requestTransfer(id, amount, from: from, to: to)
        }
        try printOutput(Report(transfer: id, from: from, to: to, amount: amount.description), json: options.json) {
            "requested transfer \(id): \(amount) from \(from) to \(to) (`mire-bank saga run --until-caught-up` carries it out)"
        }
    }
}

struct SagaRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the transfer saga's worker (one of several replicas: one drives it at a time)."
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: "This worker's id; replicas must differ.") var workerID =
        "saga-\(ProcessInfo.processInfo.processIdentifier)"
    @Flag(
        help:
            "Stop once every requested transfer is settled and no deadline is pending (at most a minute; another running saga worker holds the lease meanwhile, so run it alone)."
    ) var untilCaughtUp = false

    func run() async throws {
        try await withBank(options) { bank in
            let runner = bank.transferSaga(workerID: workerID, logger: options.makeLogger())
            if untilCaughtUp {
                let (passes, settled) = try await Self.runUntilSettled(runner, bank: bank)
                let counts = try await SagaStatus.counts(bank)
                try printOutput(counts, json: options.json) {
                    (settled ? "caught up after \(passes) passes: " : "not settled after a minute: ")
                        + counts.map { "\($0.count) \($0.step)" }.joined(separator: ", ")
                }
                if !settled { throw ExitStatus.checkFailed }
            } else {
                if !options.json { print("saga worker \(workerID) running; Ctrl-C to stop") }
                try await runUntilSignalled(runner, logger: options.makeLogger())
            }
        }
    }

    /// Runs passes until one changes nothing and no deadline is pending (receipts come one
    /// second after completion), for at most a minute. Returns the passes run and whether it
    /// settled.
    static func runUntilSettled(_ runner: ProcessManagerRunner<TransferSaga>, bank: Bank) async throws -> (
        passes: Int, settled: Bool
    ) {
        let started = ContinuousClock.now
        var passes = 0
        while ContinuousClock.now - started < .seconds(60) {
            let before = try await logHead(bank)
            try await runner.runUntilCaughtUp()
            passes += 1
            if try await logHead(bank) == before {
                if try await pendingDeadlines(bank) == 0 { return (passes, true) }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        return (passes, false)
    }

    static func logHead(_ bank: Bank) async throws -> Int64 {
        try await bank.store.pool.withConnection { connection in
            try await connection.query("SELECT coalesce(max(global_position), 0) FROM mire_events").single(Int64.self)
        }
    }

    /// Deadlines of the saga not yet delivered (nor cancelled).
    static func pendingDeadlines(_ bank: Bank) async throws -> Int64 {
        try await bank.store.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT count(*) FROM mire_process_deadlines
                WHERE process_manager = \(TransferSaga.name) AND delivered_at IS NULL AND cancelled_at IS NULL
                """
            ).single(Int64.self)
        }
    }
}

struct SagaStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show one saga transfer, or how many stand at each step.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "A transfer's id; all of them when omitted.") var id: String?

    struct Count: Encodable {
        var step: String
        var count: Int64
    }

    struct Report: Encodable {
        var transfer: String
        var status: String
        var step: String?
        var from: String
        var to: String
        var amount: String
        var failure: String?
        var receipts: Int
    }

    static func counts(_ bank: Bank) async throws -> [Count] {
        try await bank.store.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT state->>'step', count(*) FROM mire_process_states
                WHERE process_manager = \(TransferSaga.name) GROUP BY 1 ORDER BY 1
                """
            ).map { row in
                let (step, count) = try row.decode((String, Int64).self)
                return Count(step: step, count: count)
            }
        }
    }

    func run() async throws {
        guard let id else {
            let counts = try await withBank(options) { try await Self.counts($0) }
            try printOutput(counts, json: options.json) {
                counts.isEmpty
                    ? "no saga transfers yet (`mire-bank saga transfer FROM TO AMOUNT`)"
                    : counts.map { "\($0.step.padding(toLength: 10, withPad: " ", startingAt: 0)) \($0.count)" }
                        .joined(separator: "\n")
            }
            return
        }
        let report = try await withBank(options) { bank -> Report in
            guard let order = try await bank.transferOrder(id) else {
                throw ValidationError("no transfer \(id) was requested")
            }
            let runner = bank.transferSaga(workerID: "status", logger: options.makeLogger())
            let saga = try await runner.state(of: id)
            return Report(
                transfer: id, status: order.state.status.rawValue, step: saga?.step.rawValue, from: order.state.from,
                to: order.state.to, amount: Money(cents: order.state.amount).description,
                failure: order.state.failure, receipts: order.state.receipts)
        }
        try printOutput(report, json: options.json) {
            "transfer \(id): \(report.status) (saga at \(report.step ?? "not started")), \(report.amount) from \(report.from) to \(report.to)"
                + (report.failure.map { "\n  \($0)" } ?? "") + (report.receipts > 0 ? "\n  receipt sent" : "")
        }
    }
}
