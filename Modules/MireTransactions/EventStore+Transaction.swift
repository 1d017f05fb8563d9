import Foundation
import MirePQ
public import MirePostgres
import Tracing

extension EventStore {
    /// Runs `body` in one database transaction: it commits when `body` returns, and rolls back
    /// when `body` throws or the task is cancelled. The handle must not escape the closure.
    ///
    /// Use it only for read-before-write across aggregates (a transfer). Keep it short: an open
    /// transaction holds back every projection until it ends.
    ///
    /// ```swift
    /// try await store.transaction(TransactionOptions(lockTimeout: .seconds(2))) { tx in
    ///     let ids = [from, to].sorted()          // fixed lock order: no deadlocks
    ///     guard var a = try await tx.loadForUpdate(Account.self, id: ids[0]),
    ///           var b = try await tx.loadForUpdate(Account.self, id: ids[1]) else { throw BankError.notFound }
    ///     …
    ///     try await tx.save(&a)
    ///     try await tx.save(&b)
    /// }
    /// ```
    ///
    /// **Exactly once.** With `options.retry` above one attempt, the whole closure runs again
    /// after a concurrency conflict, serialization failure, deadlock or lost connection; it must
    /// then have no side effects outside the transaction. When the connection is lost after
    /// `COMMIT` was sent, the closure is *not* simply run again: the scope waits until the server
    /// has finished the transaction, then looks for the events it appended. All there: it
    /// committed, and the closure's result is returned. None there: it did not, and it may run
    /// again. A scope that appended no events cannot be checked this way and throws
    /// `commitOutcomeUnknown`.
    public func transaction<T>(
        _ options: TransactionOptions = TransactionOptions(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (EventTransaction) async throws -> T
    ) async throws -> T {
        try await traced("mire.transaction") { span in
            try await runTransaction(options, span: span, body)
        }
    }

    private func runTransaction<T>(
        _ options: TransactionOptions, span: any Span, isolation: isolated (any Actor)? = #isolation,
        _ body: (EventTransaction) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            let transaction = EventTransaction(store: self)
            var produced: T?
            do {
                let result = try await pool.withConnection { connection in
                    transaction.attach(connection)
                    defer { transaction.close() }
                    return try await connection.withTransaction(options.postgres) { _ in
                        let result = try await body(transaction)
                        transaction.close()
                        produced = result
                        return result
                    }
                }
                if !transaction.written.eventIDs.isEmpty { didCommitEvents() }
                return result
            } catch {
                var failure = error
                // Only this scope's own COMMIT is settled here (the body had returned); an unknown
                // outcome from a write the body made itself is the body's to report.
                if RetryPolicy.isOutcomeUnknown(error), produced != nil {
                    let committed: Bool
                    do {
                        committed = try await resolveOutcome(of: transaction, after: error, options: options)
                    } catch let unresolved as MireError where unresolved.code == .commitOutcomeUnknown {
                        throw unresolved
                    } catch let resolutionError {
                        throw MireError(
                            code: .commitOutcomeUnknown,
                            message: "the connection was lost after COMMIT was sent, and checking the outcome failed",
                            recovery: "look for the transaction's events before running it again",
                            underlying: resolutionError)
                    }
                    EventStore.countResolvedOutcome("transaction", committed: committed)
                    if committed, let produced {
                        logger.debug("the lost COMMIT had committed; the scope is not run again")
                        didCommitEvents()
                        return produced
                    }
                    logger.debug("the lost COMMIT had not committed; the scope may run again")
                    failure = MireError(
                        code: .database, message: "the transaction was lost before it committed",
                        recovery: "run it again", underlying: PGError(code: .connectionLost, message: "lost"))
                }
                guard attempt < options.retry.maximumAttempts, options.retry.allowsRetry(of: failure) else {
                    throw (failure as? PGError).map { MireError.database($0, doing: "the transaction") }
                        ?? failure
                }
                attempt += 1
                span.recordAttributes { $0["mire.attempts"] = attempt }
                EventStore.countRetry("transaction")
                options.onRetry?(failure, attempt)
                logger.debug(
                    "transaction failed; retrying", metadata: ["attempt": "\(attempt)", "error": "\(failure)"])
                try await Task.sleep(for: options.retry.delay(beforeAttempt: attempt))
            }
        }
    }

    /// Settles a transaction whose `COMMIT` reply was lost: waits until the server no longer runs
    /// it (ending its backend if it still holds the transaction open), then looks for the events
    /// it inserted. True when they are all stored, false when none is.
    private func resolveOutcome(of transaction: EventTransaction, after error: any Error, options: TransactionOptions)
        async throws -> Bool
    {
        let (ids, transactionID) = transaction.written
        guard !ids.isEmpty, let transactionID else {
            throw MireError(
                code: .commitOutcomeUnknown,
                message: "the connection was lost after COMMIT was sent, and the transaction appended no events "
                    + "by which to tell whether it committed",
                recovery: "check the transaction's effects before running it again",
                underlying: error
            )
        }
        let backend = ((error as? PGError) ?? ((error as? MireError)?.underlying as? PGError))?.backendPID
        let xid = PGTransactionID(transactionID)
        let deadline = ContinuousClock.now + options.outcomeResolutionTimeout
        var pause = Duration.milliseconds(20)
        while true {
            do {
                let outcome = try await pool.withConnection { connection -> Bool? in
                    let status: String?
                    do {
                        status = try await connection.query("SELECT pg_xact_status(\(xid))").single(String?.self)
                    } catch let error as PGError where error.sqlState == "22023" {
                        // "in the future": the server crashed and recovered before this
                        // transaction's commit record reached its disk, so it never committed.
                        return false
                    }
                    if status == "in progress" {
                        // Still open on the server (a client cut off before its COMMIT arrived):
                        // end that backend, so the transaction rolls back now instead of at the
                        // idle timeout. Only the backend still running this very transaction.
                        if let backend {
                            // Best effort: without the right to end it, wait for the server's
                            // idle-in-transaction timeout instead.
                            _ = try? await connection.query(
                                """
                                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                WHERE pid = \(backend) AND backend_xid = \(xid)::xid
                                """)
                        }
                        return nil
                    }
                    let stored = try await connection.query(
                        "SELECT count(*) FROM mire_events WHERE event_id = ANY(\(ids))"
                    ).single(Int64.self)
                    if stored == Int64(ids.count) { return true }
                    // Only "aborted" proves it: servers before the 2022 fix of pg_xact_status could
                    // say "committed" a moment before the commit became visible.
                    if stored == 0 { return status == "committed" ? nil : false }
                    throw MireError(
                        code: .corruptStream,
                        message: "\(stored) of the \(ids.count) events of one transaction are stored",
                        recovery: "the log was changed outside Mire; restore it from a backup")
                }
                if let outcome { return outcome }
            } catch let error where options.retry.allowsRetry(of: (error as? PGError)?.asRead ?? error) {
                logger.debug("could not check the transaction's outcome yet", metadata: ["error": "\(error)"])
            }
            guard ContinuousClock.now < deadline else {
                throw MireError(
                    code: .commitOutcomeUnknown,
                    message: "the connection was lost after COMMIT was sent, and the transaction was still unsettled "
                        + "after \(options.outcomeResolutionTimeout)",
                    recovery: "look for the transaction's events (ids \(ids.prefix(3))…) before running it again",
                    underlying: error
                )
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(500))
        }
    }
}
