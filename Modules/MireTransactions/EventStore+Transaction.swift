public import MirePostgres

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
    /// With `options.retry` above one attempt, the whole closure runs again after a concurrency
    /// conflict, serialization failure, deadlock or lost connection; it must then have no side
    /// effects outside the transaction.
    public func transaction<T>(
        _ options: TransactionOptions = TransactionOptions(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (EventTransaction) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await runOnce(options, body)
            } catch {
                guard attempt < options.retry.maximumAttempts, Self.isWorthRetrying(error) else { throw error }
                attempt += 1
                options.onRetry?(error, attempt)
                logger.debug("transaction failed; retrying", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: options.retry.delay(beforeAttempt: attempt))
            }
        }
    }

    private func runOnce<T>(
        _ options: TransactionOptions,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (EventTransaction) async throws -> T
    ) async throws -> T {
        try await pool.withConnection { connection in
            do {
                // One round trip: BEGIN and the lock timeout together (trusted text, no user input).
                var script = "BEGIN ISOLATION LEVEL \(options.isolationLevel.rawValue);"
                if let timeout = options.lockTimeout {
                    script += " SET LOCAL lock_timeout = \(max(1, timeout.wholeMilliseconds));"
                }
                try await connection.executeScript(script)
            } catch {
                await connection.rollbackQuietly()
                throw MireError.database(error, doing: "starting a transaction")
            }
            let transaction = EventTransaction(store: self, connection: connection)
            let result: T
            do {
                result = try await body(transaction)
                transaction.close()
                try Task.checkCancellation()
                try await connection.query("COMMIT")
                if transaction.appendedEvents { didCommitEvents() }
            } catch {
                transaction.close()
                await connection.rollbackQuietly()
                if let postgres = error as? PostgresError {
                    throw MireError.database(postgres, doing: "the transaction")
                }
                throw error
            }
            return result
        }
    }

    static func isWorthRetrying(_ error: any Error) -> Bool {
        if let mire = error as? MireError {
            if mire.code == .concurrencyConflict { return true }
            if let postgres = mire.underlying as? PostgresError { return postgres.isRetryable }
            return false
        }
        return (error as? PostgresError)?.isRetryable ?? false
    }
}
