import ArgumentParser
import Foundation
import MirePostgres

/// `mire-bank demo`: runs every pattern the bank demonstrates, in order, on fresh accounts.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the tour: start the database, migrate, then each pattern."
    )
    @OptionGroup var options: GlobalOptions

    struct Report: Encodable {
        var database: String
        var serverVersion: String
        var migrationsApplied: [String]
        var lifecycle: Lifecycle
        var validation: [String]
        var race: Race.Report
        var ingest: Ingest.Report
        var transfer: [String]
        var storm: TransferStorm.Report
        var snapshots: [Bench.Load.Report]

        struct Lifecycle: Encodable {
            var account: String
            var balance: String
            var version: Int64
            var history: [String]
        }
    }

    func run() async throws {
        let logger = options.makeLogger()
        let database = try await options.connect(logger: logger)
        let bank = Bank(pool: database.pool, logger: logger)
        let store = bank.store
        let say: (String) -> Void = { line in if !options.json { print(line) } }
        do {
            let applied = try await store.migrate()
            let version = try await database.pool.withConnection { try await $0.query("SHOW server_version").single(String.self) }
            say("Mire bank demo on \(database.embedded ? "the embedded server" : "\(database.configuration)") (PostgreSQL \(version))")
            say("migrations: \(applied.isEmpty ? "up to date" : "applied " + applied.map(\.name).joined(separator: ", "))")
            let run = UUID().uuidString.prefix(6).lowercased()

            say("\n== Aggregate lifecycle: load → record → save, then load again to replay")
            let alice = "alice-\(run)"
            try await bank.open(alice, owner: "Alice")
            try await bank.deposit(Money(cents: 100_00), into: alice)
            try await bank.withdraw(Money(cents: 30_00), from: alice)
            let replayed = try await bank.account(alice)
            let history = try await store.history(Account.self, id: alice).map(\.type)
            say("opened \(alice), deposited 100.00, withdrew 30.00 → balance \(Money(cents: replayed.state.balance)) at version \(replayed.version)")
            say("history: \(history.joined(separator: ", "))")

            say("\n== Commands & validation: invalid operations never reach the log")
            var refusals: [String] = []
            for (attempt, operation) in [
                ("withdraw 1000.00", { try await bank.withdraw(Money(cents: 1000_00), from: alice) as Any }),
                ("close with money in it", { try await bank.close(alice) as Any }),
            ] as [(String, () async throws -> Any)] {
                do {
                    _ = try await operation()
                } catch let error as BankError {
                    refusals.append("\(attempt): \(error)")
                    say("refused \(attempt): \(error)")
                }
            }
            try await bank.withdraw(Money(cents: 70_00), from: alice)
            try await bank.close(alice)
            do {
                try await bank.deposit(Money(cents: 1_00), into: alice)
            } catch let error as BankError {
                refusals.append("deposit into a closed account: \(error)")
                say("refused deposit into a closed account: \(error)")
            }
            say("\(alice) is at version \(try await bank.account(alice).version): the refused commands recorded nothing")

            say("\n== Concurrency: 4 writers × 10 deposits on one account, conflicts retried")
            let race = try await Race.race(bank: bank, account: nil, writers: 4, deposits: 10)
            say("conflicts retried: \(race.conflicts); final balance \(race.finalBalance) (expected \(race.expectedBalance)) — \(race.correct ? "correct" : "WRONG")")

            say("\n== Batched writes: 1,000 deposits one per save, then 100 per save")
            let ingest = try await Ingest.ingest(bank: bank, events: 1_000, batch: 100, progress: nil)
            say(String(format: "one per save: %.0f events/s; batched: %.0f events/s; speedup %.1f×",
                       ingest.singleEventsPerSecond, ingest.batchedEventsPerSecond, ingest.speedup))

            say("\n== Transfer: read-before-write across two accounts in one transaction")
            let bob = "bob-\(run)"
            let carol = "carol-\(run)"
            try await bank.open(bob, owner: "Bob")
            try await bank.open(carol, owner: "Carol")
            try await bank.deposit(Money(cents: 50_00), into: bob)
            try await bank.transfer(Money(cents: 20_00), from: bob, to: carol)
            var transfer = ["moved 20.00 from \(bob) to \(carol): balances \(Money(cents: try await bank.account(bob).state.balance)) and \(Money(cents: try await bank.account(carol).state.balance))"]
            do {
                try await bank.transfer(Money(cents: 500_00), from: bob, to: carol)
            } catch let error as BankError {
                transfer.append("refused: \(error)")
            }
            transfer.forEach(say)
            let storm = try await TransferStorm.storm(bank: bank, accounts: 6, transfers: 120, concurrency: 6)
            say("transfer storm: \(storm.transfersDone) done, \(storm.transfersRefused) refused, total \(storm.totalBefore) → \(storm.totalAfter) — \(storm.correct ? "conserved" : "WRONG")")

            say("\n== Snapshots: a long account loads from a snapshot plus its tail")
            let full = try await Bench.Load.measure(bank: bank, events: 5_000, snapshots: false, repetitions: 5)
            let viaSnapshot = try await Bench.Load.measure(bank: bank, events: 5_000, snapshots: true, repetitions: 5)
            say(String(format: "5,000-event account: full replay %.1f ms (%d events); through a snapshot %.1f ms (%d events)",
                       full.medianMilliseconds, full.eventsReplayedPerLoad, viaSnapshot.medianMilliseconds, viaSnapshot.eventsReplayedPerLoad))

            await bank.snapshots.waitForPendingWrites()
            await database.pool.shutdown()
            if options.json {
                try printOutput(
                    Report(
                        database: database.embedded ? "embedded" : "\(database.configuration)", serverVersion: version,
                        migrationsApplied: applied.map(\.name),
                        lifecycle: .init(account: alice, balance: Money(cents: replayed.state.balance).description, version: replayed.version, history: history),
                        validation: refusals, race: race, ingest: ingest, transfer: transfer, storm: storm,
                        snapshots: [full, viaSnapshot]
                    ), json: true) { "" }
            }
            if !race.correct || !storm.correct { throw ExitCode.failure }
        } catch {
            await database.pool.shutdown()
            throw error
        }
    }
}
