/// How a transaction runs: isolation, and the bounds that keep a stalled transaction from
/// holding locks (and the cluster's xmin horizon) for ever.
///
/// ```swift
/// var options = PGTransactionOptions(isolationLevel: .serializable)
/// options.lockTimeout = .seconds(2)
/// options.idleInTransactionTimeout = .seconds(30)
/// ```
public struct PGTransactionOptions: Sendable, Hashable {
    /// PostgreSQL's transaction isolation levels.
    public enum IsolationLevel: String, Sendable, Hashable {
        /// Each statement sees what was committed before it began (PostgreSQL's default).
        case readCommitted = "READ COMMITTED"
        /// The whole transaction sees one snapshot.
        case repeatableRead = "REPEATABLE READ"
        /// As if transactions ran one at a time; may fail with a serialization error (retryable).
        case serializable = "SERIALIZABLE"
    }

    /// The isolation level.
    public var isolationLevel: IsolationLevel
    /// How long a statement waits for a lock before failing (SQLSTATE 55P03); nil: the server's setting.
    public var lockTimeout: Duration?
    /// How long one statement may run before the server cancels it; nil: the server's setting.
    public var statementTimeout: Duration?
    /// How long the server waits for the client's next statement inside the transaction before
    /// ending the session (a frozen or partitioned client); nil: the server's setting.
    public var idleInTransactionTimeout: Duration?

    /// Options; by default read committed and the server's timeouts.
    public init(
        isolationLevel: IsolationLevel = .readCommitted, lockTimeout: Duration? = nil,
        statementTimeout: Duration? = nil, idleInTransactionTimeout: Duration? = nil
    ) {
        self.isolationLevel = isolationLevel
        self.lockTimeout = lockTimeout
        self.statementTimeout = statementTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
    }

    /// The statements that open such a transaction: `BEGIN`, then the local settings (one
    /// statement, values bound as parameters).
    var opening: [PGQuery] {
        let begin = PGQuery(unsafeSQL: "BEGIN ISOLATION LEVEL \(isolationLevel.rawValue)")
        let settings: [(String, Duration)] = [
            ("lock_timeout", lockTimeout), ("statement_timeout", statementTimeout),
            ("idle_in_transaction_session_timeout", idleInTransactionTimeout),
        ].compactMap { name, value in value.map { (name, $0) } }
        guard !settings.isEmpty else { return [begin] }
        var sql = "SELECT "
        var bindings = PGBindings()
        for (index, (name, value)) in settings.enumerated() {
            if index > 0 { sql += ", " }
            bindings.append(String(value.timeoutMilliseconds))
            sql += "set_config('\(name)', $\(bindings.count), true)"
        }
        return [begin, PGQuery(unsafeSQL: sql, bindings: bindings)]
    }
}

extension PGConnection {
    /// Runs `body` in a transaction on this connection: `COMMIT` when it returns, `ROLLBACK`
    /// when it throws or the task is cancelled. This is the one transaction primitive every
    /// transaction in Mire goes through.
    ///
    /// `BEGIN` costs no round trip of its own: it travels with the body's first statement (a
    /// body that sends nothing opens no transaction). `COMMIT` is never cancelled, so its
    /// outcome is known whenever a reply comes; when the connection is lost after `COMMIT` was
    /// sent, the error's code is `commitOutcomeUnknown`, which nothing retries blindly.
    ///
    /// ```swift
    /// try await connection.withTransaction(PGTransactionOptions(lockTimeout: .seconds(2))) { connection in
    ///     try await connection.query("UPDATE accounts SET balance = balance - \(amount) WHERE id = \(from)")
    ///     try await connection.query("UPDATE accounts SET balance = balance + \(amount) WHERE id = \(to)")
    /// }
    /// ```
    ///
    /// - Throws: what `body` throws (after the rollback); `CancellationError` when the task was
    ///   cancelled before `COMMIT`; a ``PGError`` from `COMMIT` (a serialization failure,
    ///   a deferred constraint, `commitOutcomeUnknown`).
    public func withTransaction<T>(
        _ options: PGTransactionOptions = PGTransactionOptions(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PGConnection) async throws -> T
    ) async throws -> T {
        guard status == .idle, prelude.withLock({ $0.isEmpty }) else {
            throw PGError(
                code: .client, message: "a transaction is already open on this connection, or it is closed")
        }
        _ = takeCommittedInPipeline()
        prelude.withLock { $0 = options.opening }
        let result: T
        do {
            result = try await body(self)
        } catch {
            // Ended by `commit(after:)` before the error: committed, nothing to roll back.
            if takeCommittedInPipeline() { throw error }
            if !discardPrelude() { await rollbackQuietly() }
            throw error
        }
        // Checked before cancellation: a transaction that committed is reported as committed.
        if takeCommittedInPipeline() { return result }
        if discardPrelude() { return result }  // the body sent nothing: there is nothing to commit
        do {
            try Task.checkCancellation()
        } catch {
            await rollbackQuietly()
            throw error
        }
        try await commit()
        return result
    }

    /// Whether ``commit(after:prepared:)`` ended the transaction; clears the flag.
    nonisolated func takeCommittedInPipeline() -> Bool {
        committedInPipeline.withLock { committed in
            defer { committed = false }
            return committed
        }
    }

    /// Inside ``withTransaction(_:isolation:_:)``: runs `statements` and then `COMMIT` in one
    /// round trip (with the `BEGIN` too, when nothing was sent yet), and returns the
    /// statements' rows. The transaction then ends here; the scope sends no `COMMIT` of its own.
    /// A lost connection after sending is `commitOutcomeUnknown`.
    ///
    /// ```swift
    /// try await pool.withTransaction { connection in
    ///     try await connection.commit(after: ["INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (2)"])
    /// }
    /// ```
    @discardableResult
    public func commit(after statements: [PGQuery], prepared: Bool = false) async throws -> [PGRows] {
        try await cancellable { connection in
            guard connection.status == .inTransaction || connection.prelude.withLock({ !$0.isEmpty }) else {
                throw PGError(
                    code: .client, message: "commit(after:) runs inside withTransaction, before the transaction ends")
            }
            let rows: [PGRows]
            do {
                rows = try connection.executePipeline(
                    statements, prepared: prepared, unpreparedTail: ["COMMIT"], commits: true)
            } catch var error as PGError where error.code == .connectionLost && error.mayHaveExecuted {
                error.code = .commitOutcomeUnknown
                throw error
            }
            guard let commit = rows.last, commit.commandTag == "COMMIT" else {
                throw PGError(
                    code: .server, sqlState: "25P02",
                    message: "a statement of the transaction had failed, so COMMIT rolled it back")
            }
            connection.committedInPipeline.withLock { $0 = true }
            return Array(rows.dropLast())
        }
    }

    /// Drops a prelude that never went out; true when there was one (no transaction was opened).
    private nonisolated func discardPrelude() -> Bool {
        prelude.withLock { pending in
            defer { pending = [] }
            return !pending.isEmpty
        }
    }

    private func commit() throws {
        try commitTransaction()
    }
}

extension PGConnection {
    /// Holds the session advisory lock `key` while `body` runs: waits for it (cancellably), runs
    /// `body`, and releases it however `body` ends — cancellation included. A connection whose
    /// lock cannot be released is closed, so a pooled connection never keeps one.
    ///
    /// ```swift
    /// try await connection.withAdvisoryLock(42) { connection in
    ///     try await connection.executeScript(migrationSQL)
    /// }
    /// ```
    public func withAdvisoryLock<T>(
        _ key: Int64, isolation: isolated (any Actor)? = #isolation, _ body: (PGConnection) async throws -> T
    ) async throws -> T {
        try await query("SELECT pg_advisory_lock(\(key))")
        let result: T
        do {
            result = try await body(self)
        } catch {
            await releaseAdvisoryLock(key)
            throw error
        }
        await releaseAdvisoryLock(key)
        return result
    }

    /// Releases advisory lock `key`, ignoring cancellation; closes the connection if it cannot.
    private func releaseAdvisoryLock(_ key: Int64) {
        do {
            let released = try queryIgnoringCancellation("SELECT pg_advisory_unlock(\(key))").single(Bool.self)
            if !released { close() }
        } catch {
            close()
        }
    }
}
