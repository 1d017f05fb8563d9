import Foundation
import Logging
import MireBankDomain
import MirePQ
import MireProjections
import MireTestSupport
import MireTransactions
import Synchronization

/// One chaos run: open accounts, then deposits, transfers and two projection replicas under
/// faults for a while, then an audit of the log against what every caller was told.
struct ChaosRun {
    let target: ChaosTarget
    let accounts: Int
    let writers: Int
    let transferers: Int
    let duration: Duration
    let restartEvery: Duration?
    /// For a failover run: when to crash the primary and promote the standby.
    var failoverAfter: Duration? = nil
    let logger: Logger

    /// What one command did, as its caller saw it.
    struct Operation: Sendable {
        enum Kind: Sendable { case deposit, transfer }
        enum Outcome: Sendable {
            case acknowledged
            /// Refused by the bank's rules (insufficient funds): nothing may be stored.
            case refused
            /// Failed; `unknown` when the error said the outcome is unknown.
            case failed(unknown: Bool, error: String)
        }
        var kind: Kind
        var command: UUID
        var amount: Int64
        var outcome: Outcome
        /// When the caller got its answer.
        var answered = ContinuousClock.now
        /// Events a stored command leaves in the log.
        var eventCount: Int { kind == .deposit ? 1 : 2 }
    }

    /// Writers retry for up to about half a minute: long enough to ride out a server restart.
    static let retry = RetryPolicy(
        maximumAttempts: 200, baseDelay: .milliseconds(5), maximumDelay: .milliseconds(250), retriesLockTimeouts: true)

    func execute() async throws -> ChaosReport {
        let run = UUID().uuidString.prefix(6).lowercased()
        let prefix = "chaos-\(run)-"
        let ids = (0..<accounts).map { prefix + "\($0)" }
        let opening = Money(cents: 1000_00)

        let setupPool = target.directPool(logger: logger)
        let setup = Bank(pool: setupPool, logger: logger)
        try await setup.store.migrate()
        try await ReadModel.prepare(setupPool)
        for id in ids {
            try await setup.open(id, owner: "chaos")
            try await setup.deposit(opening, into: id)
        }
        await setupPool.shutdown()

        let workerPool = target.faultyPool(logger: logger, maximumConnections: writers + transferers + 2)
        let bank = Bank(pool: workerPool, logger: logger)
        let replicaPools = (1...2).map { _ in target.faultyPool(logger: logger, maximumConnections: 3) }
        let replicas = replicaPools.enumerated().map { index, pool in
            ReadModel.runner(bank: Bank(pool: pool, logger: logger), workerID: "replica-\(index + 1)", logger: logger)
        }
        let operations = Locked<[Operation]>([])
        let faults = Locked(ChaosReport.Faults())
        let deadline = ContinuousClock.now + duration

        let replicaTasks = replicas.map { replica in Task { try await replica.run() } }
        // The store's background work (wake-ups, snapshots) runs while the writers do.
        try await bank.store.withBackgroundWork {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        while ContinuousClock.now < deadline {
                            let operation = await deposit(bank: bank, ids: ids)
                            operations.withLock { $0.append(operation) }
                        }
                    }
                }
                for _ in 0..<transferers {
                    group.addTask {
                        while ContinuousClock.now < deadline {
                            let operation = await transfer(bank: bank, ids: ids)
                            operations.withLock { $0.append(operation) }
                        }
                    }
                }
                group.addTask { try await injectFaults(until: deadline, into: faults) }
                try await group.waitForAll()
            }
        }
        if let proxy = target.proxy {
            proxy.disarm()
            faults.withLock { $0.proxyFaultsFired = proxy.faultsFired }
        }

        // A pool opened after the last crash, without faults, for the audit.
        let auditPool = target.directPool(logger: logger)
        let auditor = Bank(pool: auditPool, logger: logger)
        // Let the replicas catch up with everything the log holds, then stop them.
        let head = try await auditPool.withConnection { connection in
            try await connection.query("SELECT coalesce(max(global_position), 0) FROM mire_events").single(Int64.self)
        }
        let watcher = ReadModel.runner(bank: auditor, workerID: "chaos-audit", logger: logger)
        var caughtUp = true
        do {
            try await watcher.waitUntilCaughtUp(ReadModel.projectionName, to: head, timeout: .seconds(120))
        } catch {
            caughtUp = false
            logger.error("the replicas did not catch up", metadata: ["error": "\(error)"])
        }
        for task in replicaTasks { task.cancel() }
        for task in replicaTasks { _ = try? await task.value }
        await workerPool.shutdown()
        for pool in replicaPools { await pool.shutdown() }

        let audit = try await ChaosAudit(
            bank: auditor, ids: ids, prefix: prefix, openingCents: opening.cents, operations: operations.value,
            caughtUp: caughtUp
        ).run()
        await auditPool.shutdown()
        var report = audit
        report.seconds = Int(duration.components.seconds)
        report.faults = faults.value
        if let crashed = faults.value.primaryCrashedAt {
            report.failover = ChaosReport.Failover(crashedAt: crashed, operations: operations.value)
        }
        return report
    }

    private func deposit(bank: Bank, ids: [String]) async -> Operation {
        let command = UUID()
        let amount = Int64.random(in: 1...100_00)
        let account = ids.randomElement() ?? ids[0]
        do {
            try await bank.deposit(Money(cents: amount), into: account, command: command, retry: Self.retry)
            return Operation(kind: .deposit, command: command, amount: amount, outcome: .acknowledged)
        } catch {
            return Operation(kind: .deposit, command: command, amount: amount, outcome: Self.failure(error))
        }
    }

    private func transfer(bank: Bank, ids: [String]) async -> Operation {
        let command = UUID()
        let amount = Int64.random(in: 1...300_00)
        let pair = ids.shuffled().prefix(2)
        var options = Bank.transferOptions
        options.retry = Self.retry
        do {
            try await bank.transfer(
                Money(cents: amount), from: pair.first ?? ids[0], to: pair.last ?? ids[1], command: command,
                options: options)
            return Operation(kind: .transfer, command: command, amount: amount, outcome: .acknowledged)
        } catch BankError.insufficientFunds {
            return Operation(kind: .transfer, command: command, amount: amount, outcome: .refused)
        } catch {
            return Operation(kind: .transfer, command: command, amount: amount, outcome: Self.failure(error))
        }
    }

    private static func failure(_ error: any Error) -> Operation.Outcome {
        .failed(unknown: RetryPolicy.isOutcomeUnknown(error), error: "\(error)")
    }

    /// Breaks things at random until `deadline`: lost replies and requests (COMMIT's among
    /// them), connections cut mid-request, killed backends, and server crashes.
    private func injectFaults(until deadline: ContinuousClock.Instant, into faults: Locked<ChaosReport.Faults>)
        async throws
    {
        if let failoverAfter, let primary = target.server, let standby = target.standby {
            try await Task.sleep(for: failoverAfter)
            logger.info("crashing the primary; promoting the standby")
            try await primary.shutDown(mode: .immediate)
            let crashed = ContinuousClock.now  // the server is down: later acknowledgements came after
            try await standby.promote()
            faults.withLock {
                $0.failovers += 1
                $0.primaryCrashedAt = crashed
                $0.promotionMilliseconds = (ContinuousClock.now - crashed).wholeMilliseconds
            }
            return
        }
        guard let proxy = target.proxy else { return }
        var nextRestart = restartEvery.map { ContinuousClock.now + $0 }
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...250)))
            if let server = target.server, let restartEvery, let due = nextRestart, ContinuousClock.now >= due {
                logger.info("crashing the server")
                try await server.restart(mode: .immediate)
                faults.withLock { $0.serverRestarts += 1 }
                nextRestart = ContinuousClock.now + restartEvery
                continue
            }
            switch Int.random(in: 0..<10) {
            case 0..<3: proxy.arm(.dropReply, when: .anyRequest(probability: 1))
            case 3..<5: proxy.arm(.dropRequest, when: .anyRequest(probability: 1))
            case 5: proxy.arm(.cutAfterRequest, when: .anyRequest(probability: 1))
            case 6..<8: proxy.arm(.dropReply, whenStatementIs: "COMMIT", alone: true)
            default:
                if await target.killRandomBackend(logger: logger) { faults.withLock { $0.backendsKilled += 1 } }
            }
        }
    }
}
