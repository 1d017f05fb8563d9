import ArgumentParser
import Foundation
import Logging
import MireBankDomain
import MireProjections
import MireSagas

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
        var snapshots: [Bench.Report]
        var projections: [String]
        var sagas: [String]
        var failover: [String]

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
            // Wake-ups and background snapshots need the store's background work.
            try await store.withBackgroundWork {
                let applied = try await store.migrate()
                let version = try await database.pool.withConnection {
                    try await $0.query("SHOW server_version").single(String.self)
                }
                say(
                    "Mire bank demo on \(database.embedded ? "the embedded server" : "\(database.configuration)") (PostgreSQL \(version))"
                )
                say(
                    "migrations: \(applied.isEmpty ? "up to date" : "applied " + applied.map(\.name).joined(separator: ", "))"
                )
                let run = UUID().uuidString.prefix(6).lowercased()

                say("\n== Aggregate lifecycle: load → record → save, then load again to replay")
                let alice = "alice-\(run)"
                try await bank.open(alice, owner: "Alice")
                try await bank.deposit(Money(cents: 100_00), into: alice)
                try await bank.withdraw(Money(cents: 30_00), from: alice)
                let replayed = try await bank.account(alice)
                let history = try await store.history(Account.self, id: alice).map(\.type)
                say(
                    "opened \(alice), deposited 100.00, withdrew 30.00 → balance \(Money(cents: replayed.state.balance)) at version \(replayed.version)"
                )
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
                say(
                    "\(alice) is at version \(try await bank.account(alice).version): the refused commands recorded nothing"
                )

                say("\n== Concurrency: 4 writers × 10 deposits on one account, conflicts retried")
                let race = try await Race.race(bank: bank, account: nil, writers: 4, deposits: 10)
                say(
                    "conflicts retried: \(race.conflicts); final balance \(race.finalBalance) (expected \(race.expectedBalance)) — \(race.correct ? "correct" : "WRONG")"
                )

                say("\n== Batched writes: 1,000 deposits one per save, then 100 per save")
                let ingest = try await Ingest.ingest(bank: bank, events: 1_000, batch: 100, progress: nil)
                say(
                    String(
                        format: "one per save: %.0f events/s; batched: %.0f events/s; speedup %.1f×",
                        ingest.singleEventsPerSecond, ingest.batchedEventsPerSecond, ingest.speedup))

                say("\n== Transfer: read-before-write across two accounts in one transaction")
                let bob = "bob-\(run)"
                let carol = "carol-\(run)"
                try await bank.open(bob, owner: "Bob")
                try await bank.open(carol, owner: "Carol")
                try await bank.deposit(Money(cents: 50_00), into: bob)
                try await bank.transfer(Money(cents: 20_00), from: bob, to: carol)
                var transfer = [
                    "moved 20.00 from \(bob) to \(carol): balances \(Money(cents: try await bank.account(bob).state.balance)) and \(Money(cents: try await bank.account(carol).state.balance))"
                ]
                do {
                    try await bank.transfer(Money(cents: 500_00), from: bob, to: carol)
                } catch let error as BankError {
                    transfer.append("refused: \(error)")
                }
                transfer.forEach(say)
                let storm = try await TransferStorm.storm(bank: bank, accounts: 6, transfers: 120, concurrency: 6)
                say(
                    "transfer storm: \(storm.transfersDone) done, \(storm.transfersRefused) refused, total \(storm.totalBefore) → \(storm.totalAfter) — \(storm.correct ? "conserved" : "WRONG")"
                )

                say("\n== Snapshots: a long account loads from a snapshot plus its tail")
                let full = try await Bench.Load.measure(bank: bank, events: 5_000, snapshots: false, seconds: 1)
                let viaSnapshot = try await Bench.Load.measure(bank: bank, events: 5_000, snapshots: true, seconds: 1)
                say(
                    String(
                        format:
                            "5,000-event account: full replay %.1f ms (%d events); through a snapshot %.1f ms (%d events)",
                        full.p50Milliseconds, full.eventsReplayedPerLoad ?? 0, viaSnapshot.p50Milliseconds,
                        viaSnapshot.eventsReplayedPerLoad ?? 0))

                say("\n== Projections: a transactional read model; two replicas, one drives it")
                let projections = try await Self.projections(bank: bank, logger: logger, account: bob)
                projections.forEach(say)

                say("\n== Saga: transfers in steps (reserve, credit, complete or return the money), and the outbox")
                let sagas = try await Self.sagas(bank: bank, logger: logger, run: String(run))
                sagas.forEach(say)

                say(
                    "\n== Failover: writers, transfers and a projection while a primary crashes and its synchronous standby takes over"
                )
                let failover = try await Self.failover(logger: logger)
                failover.forEach(say)

                if options.json {
                    try printOutput(
                        Report(
                            database: database.embedded ? "embedded" : "\(database.configuration)",
                            serverVersion: version,
                            migrationsApplied: applied.map(\.name),
                            lifecycle: .init(
                                account: alice, balance: Money(cents: replayed.state.balance).description,
                                version: replayed.version, history: history),
                            validation: refusals, race: race, ingest: ingest, transfer: transfer, storm: storm,
                            snapshots: [full, viaSnapshot], projections: projections, sagas: sagas,
                            failover: failover
                        ), json: true
                    ) { "" }
                }
                if !race.correct || !storm.correct
                    || (projections + sagas + failover).contains(where: { $0.hasPrefix("WRONG") })
                {
                    throw ExitStatus.checkFailed
                }
            }
            await database.pool.shutdown()
        } catch {
            await database.pool.shutdown()
            throw error
        }
    }

    /// A primary of its own and its synchronous standby; 2 depositors and 2 transfer workers for
    /// 4 s while two projection replicas keep the read model; the primary crashes at 1.5 s and
    /// the standby is promoted; then the audit (`mire-bank chaos --failover-after`).
    static func failover(logger: Logger) async throws -> [String] {
        let target = try await ChaosTarget.startFailoverPair(logger: logger)
        defer { target.stop() }
        var run = ChaosRun(
            target: target, accounts: 6, writers: 2, transferers: 2, duration: .seconds(4), restartEvery: nil,
            logger: logger)
        run.failoverAfter = .milliseconds(1_500)
        let report = try await run.execute()
        var lines = [
            "primary crashed at 1.5 s; standby promoted in \(report.faults.promotionMilliseconds ?? 0) ms; writers waited "
                + "\(report.failover?.writersWaitedMilliseconds ?? 0) ms between acknowledgements",
            "acknowledged: \(report.acknowledgedSaves) deposits, \(report.acknowledgedTransfers) transfers "
                + "(\(report.failover?.acknowledgedBefore ?? 0) before the crash, \(report.failover?.acknowledgedAfter ?? 0) after)",
            "money \(report.moneyBefore) → \(report.moneyAfter); duplicates \(report.duplicates); "
                + "read model matches the log: \(report.readModelMatchesReplay)",
        ]
        lines.append(
            report.violations.isEmpty
                ? "nothing lost, nothing doubled" : "WRONG: " + report.violations.joined(separator: "; "))
        return lines
    }

    /// Three saga transfers (one completes, one cannot be paid, one cannot be received and
    /// returns the money), a large withdrawal, and the outbox delivering the receipt and the alert
    /// to a local HTTP endpoint.
    static func sagas(bank: Bank, logger: Logger, run: String) async throws -> [String] {
        let (dave, erin) = ("dave-\(run)", "erin-\(run)")
        try await bank.open(dave, owner: "Dave")
        try await bank.open(erin, owner: "Erin")
        try await bank.deposit(Money(cents: 2_000_00), into: dave)
        let transfers = [
            ("ok-\(run)", Money(cents: 30_00), erin), ("too-much-\(run)", Money(cents: 5_000_00), erin),
            ("to-nobody-\(run)", Money(cents: 10_00), "nobody-\(run)"),
        ]
        for (id, amount, to) in transfers { try await bank.requestTransfer(id, amount, from: dave, to: to) }
        try await bank.withdraw(Bank.largeWithdrawal, from: dave)
        let runner = bank.transferSaga(workerID: "demo", logger: logger)
        let settled = try await SagaRun.runUntilSettled(runner, bank: bank).settled
        var lines: [String] = settled ? [] : ["WRONG: the saga did not settle within a minute"]
        for (id, amount, to) in transfers {
            let order = try await bank.transferOrder(id)?.state
            lines.append(
                "\(amount) \(dave) → \(to): \(order?.status.rawValue ?? "?")"
                    + (order?.failure.map { " (\($0))" } ?? ""))
        }
        let (daveBalance, erinBalance) = (
            try await bank.account(dave).state.balance, try await bank.account(erin).state.balance
        )
        let conserved = daveBalance == 2_000_00 - Bank.largeWithdrawal.cents - 30_00 && erinBalance == 30_00
        lines.append(
            "\(conserved ? "" : "WRONG: ")balances \(Money(cents: daveBalance)) and \(Money(cents: erinBalance)): "
                + (conserved ? "only the completed transfer moved money" : "money was lost or made"))

        // The outbox: a stand-in endpoint on this machine, and a worker delivering to it.
        let receiver = try HTTPReceiver()
        let deliverer = HTTPDeliverer(endpoint: URL(string: "http://127.0.0.1:\(receiver.port)/")!)
        let worker = bank.outboxWorker(workerID: "demo", logger: logger, deliver: deliverer.deliver)
        let outbox = Outbox(store: bank.store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await receiver.serve() }
            let started = ContinuousClock.now
            while try await outbox.counts().pending > 0, ContinuousClock.now - started < .seconds(30) {
                if try await worker.deliverDue() == 0 { try await Task.sleep(for: .milliseconds(100)) }
            }
            group.cancelAll()
        }
        let ours = receiver.uniqueMessages.filter { $0.key.contains(run) || $0.body.contains(run) }
        lines.append(
            "outbox → http://127.0.0.1:\(receiver.port)/: "
                + ours.map { "\($0.topic) (\($0.key.prefix(24)))" }.joined(separator: ", "))
        if ours.count != 2 { lines.append("WRONG: expected a receipt and an alert, got \(ours.count) messages") }
        return lines
    }

    /// Two in-process runners share the projection: one holds the lease; when it stops, the
    /// other takes over and the read model keeps following the log.
    static func projections(bank: Bank, logger: Logger, account: String) async throws -> [String] {
        var lines: [String] = []
        try await ReadModel.prepare(bank.store.pool)
        let first = ReadModel.runner(bank: bank, workerID: "demo-a", logger: logger)
        let second = ReadModel.runner(bank: bank, workerID: "demo-b", logger: logger)
        let firstTask = Task { try await first.run() }
        try await Task.sleep(for: .milliseconds(300))
        let secondTask = Task { try await second.run() }
        defer {
            firstTask.cancel()
            secondTask.cancel()
        }
        let name = ReadModel.projectionName
        let head = try await bank.store.deposit(into: account, bank: bank)
        try await first.waitUntilCaughtUp(name, to: head, timeout: .seconds(120))
        var status = try await first.status(name)
        lines.append(
            "caught up with the log: \(status.eventsHandled) events handled; lease held by \(status.holder ?? "-") (token \(status.fenceToken))"
        )

        // Stop whichever replica holds the lease; the other takes over.
        let (leader, follower) = status.holder == "demo-a" ? (firstTask, second) : (secondTask, first)
        leader.cancel()
        _ = try? await leader.value
        let next = try await bank.store.deposit(into: account, bank: bank)
        try await follower.waitUntilCaughtUp(name, to: next, timeout: .seconds(30))
        status = try await follower.status(name)
        lines.append("leader stopped; \(status.holder ?? "-") took over with token \(status.fenceToken) and kept up")

        let readModel = try await ReadModel.accounts(bank.store.pool).first { $0.account == account }
        let replayed = try await bank.account(account)
        let agrees = readModel?.balanceCents == replayed.state.balance
        lines.append(
            (agrees ? "" : "WRONG: ")
                + "read model says \(account) holds \(readModel?.balance ?? "?"); replaying its events gives \(Money(cents: replayed.state.balance))"
        )
        return lines
    }
}

extension EventStore {
    /// Deposits 1.00 and returns the event's position (for waiting on the projection).
    fileprivate func deposit(into account: String, bank: Bank) async throws -> Int64 {
        var root = try await bank.account(account)
        try root.deposit(Money(cents: 100))
        return try await save(&root).positions[0]
    }
}
