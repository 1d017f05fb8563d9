public import Logging

/// A bounded pool of connections, handed out only through scoped calls.
///
/// A connection never escapes its scope. A connection found broken after a scope (server
/// restart, `pg_terminate_backend`) is discarded and its slot refilled on demand; the caller sees
/// a ``PostgresError`` with code `connectionLost`, which is retryable. When every connection is
/// busy, callers wait in FIFO order; a waiting task that is cancelled leaves the queue.
///
/// ```swift
/// let pool = PostgresPool(configuration: config, maximumConnections: 10, logger: logger)
/// let count = try await pool.withConnection { connection in
///     try await connection.query("SELECT count(*) FROM mire_events").single(Int64.self)
/// }
/// try await pool.withTransaction { connection in
///     try await connection.query("UPDATE accounts SET balance = balance - \(amount) WHERE id = \(from)")
///     try await connection.query("UPDATE accounts SET balance = balance + \(amount) WHERE id = \(to)")
/// }
/// await pool.shutdown()
/// ```
public final class PostgresPool: Sendable {
    /// How the pool connects.
    public let configuration: PostgresConfiguration
    /// The most connections open at once.
    public let maximumConnections: Int
    let logger: Logger
    let state: PoolState

    /// A pool that opens connections lazily, up to `maximumConnections`.
    public init(configuration: PostgresConfiguration, maximumConnections: Int = 10, logger: Logger) {
        precondition(maximumConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.maximumConnections = maximumConnections
        self.logger = logger
        self.state = PoolState(maximum: maximumConnections)
    }

    /// Lends a connection to `body` and takes it back when `body` returns or throws.
    ///
    /// A transaction left open by `body` is rolled back; a broken connection is discarded.
    @discardableResult
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await lease()
        do {
            let result = try await body(connection)
            await giveBack(connection)
            return result
        } catch {
            await giveBack(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction: `COMMIT` when it returns, `ROLLBACK` when it throws or
    /// the task is cancelled (then `CancellationError` is thrown and nothing is committed).
    ///
    /// ```swift
    /// let id = try await pool.withTransaction { connection in
    ///     try await connection.query("INSERT INTO t DEFAULT VALUES RETURNING id").single(Int64.self)
    /// }
    /// ```
    @discardableResult
    public func withTransaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.query("BEGIN")
            let result: T
            do {
                result = try await body(connection)
                try Task.checkCancellation()
            } catch {
                await connection.rollbackQuietly()
                throw error
            }
            do {
                try await connection.query("COMMIT")
            } catch is CancellationError {
                // The cancel may have arrived before or after the server committed; the outcome
                // is unknown, so say so rather than claim a rollback.
                await connection.rollbackQuietly()
                throw PostgresError(
                    code: .connectionLost,
                    message: "the task was cancelled during COMMIT; the transaction may or may not have committed"
                )
            }
            return result
        }
    }

    /// Closes idle connections, fails waiting callers, and refuses new work. Connections in use
    /// are closed when their scopes end.
    public func shutdown() async {
        let idle = await state.close()
        for connection in idle { await connection.close() }
    }

    /// Connections open now, and how many of them are idle (for metrics and tests).
    public var statistics: (open: Int, idle: Int, waiting: Int) {
        get async { await state.statistics }
    }

    private func lease() async throws -> PostgresConnection {
        while true {
            switch try await state.lease() {
            case .connection(let connection):
                // libpq may already know an idle connection is gone; don't hand that one out.
                if await connection.isBroken {
                    await discard(connection)
                    continue
                }
                return connection
            case .openNew:
                do {
                    return try await PostgresConnection.connect(configuration: configuration, logger: logger)
                } catch {
                    await state.slotFreed()
                    throw error
                }
            }
        }
    }

    private func giveBack(_ connection: PostgresConnection) async {
        if await connection.isInTransaction { await connection.rollbackQuietly() }
        // Checked after the rollback: a connection that could not roll back was closed.
        if await connection.isBroken {
            await discard(connection)
            return
        }
        if await state.release(connection) == false { await connection.close() }
    }

    private func discard(_ connection: PostgresConnection) async {
        logger.debug("discarding a broken connection", metadata: ["mire.connection": "\(connection.id)"])
        await connection.close()
        await state.slotFreed()
    }
}

extension PostgresConnection {
    /// Rolls back whatever transaction is open, ignoring cancellation and errors; a connection
    /// that cannot roll back is closed so that it is never reused. For cleanup paths.
    ///
    /// ```swift
    /// } catch {
    ///     await connection.rollbackQuietly()
    ///     throw error
    /// }
    /// ```
    public func rollbackQuietly() {
        guard !handle.isBroken, isInTransaction else { return }
        do {
            try queryIgnoringCancellation("ROLLBACK")
        } catch {
            close()
        }
    }
}
