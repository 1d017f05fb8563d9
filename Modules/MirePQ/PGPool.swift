public import Logging
import Metrics
import Synchronization

/// A bounded pool of connections, handed out only through scoped calls.
///
/// A connection never escapes its scope. A connection found broken after a scope (server
/// restart, `pg_terminate_backend`) is discarded and its slot refilled on demand; the caller
/// sees a ``PGError`` with code `connectionLost`, which is retryable. When a server refuses a
/// write because it takes none (an old primary after a failover: `readOnlyServer`, retryable
/// too), every connection opened until then is discarded when it is next given back or lent.
/// When every connection is busy, callers wait in FIFO order; a waiting task that is cancelled
/// leaves the queue.
///
/// Handing a connection out and taking it back are plain state changes under a lock (see
/// `PoolStateMachine`): a pooled statement costs one hop to the connection's executor and one back.
///
/// Metrics (swift-metrics, dimension `pool`: the configuration's application name):
/// `mire_pool_connections` (gauge, dimension `state`: `open`, `idle`), `mire_pool_waiters`
/// (gauge) and `mire_pool_wait_duration` (timer, for callers that had to wait).
///
/// ```swift
/// let pool = PGPool(configuration: config, maximumConnections: 10, logger: logger)
/// let count = try await pool.withConnection { connection in
///     try await connection.query("SELECT count(*) FROM mire_events").single(Int64.self)
/// }
/// try await pool.withTransaction { connection in
///     try await connection.query("UPDATE accounts SET balance = balance - \(amount) WHERE id = \(from)")
///     try await connection.query("UPDATE accounts SET balance = balance + \(amount) WHERE id = \(to)")
/// }
/// await pool.shutdown()
/// ```
public final class PGPool: Sendable {
    /// How the pool connects.
    public let configuration: PGConfiguration
    /// The most connections open at once.
    public let maximumConnections: Int
    let logger: Logger

    private typealias Machine = PoolStateMachine<PGConnection>

    /// What a waiter is given: a connection, or a slot in which to open one.
    private enum Grant: Sendable {
        case connection(PGConnection)
        case openNew
    }

    private struct State: ~Copyable {
        var machine: Machine
        /// Waiters that are suspended, by id.
        var continuations: [Machine.WaiterID: CheckedContinuation<Grant, any Error>] = [:]
        /// Outcomes that reached a waiter before it suspended (served or cancelled early).
        var early: [Machine.WaiterID: Result<Grant, any Error>] = [:]
    }

    private let state: Mutex<State>
    private let metrics: PoolMetrics
    /// Connections whose id is at most this one were opened before a server refused a write
    /// because it takes none (a failover): each is dropped instead of being lent again, since it
    /// may sit on the same old primary. An atomic, so that the hot path takes no second lock.
    private let staleThrough = Atomic<Int>(0)

    /// A pool that opens connections lazily, up to `maximumConnections`.
    public init(configuration: PGConfiguration, maximumConnections: Int = 10, logger: Logger) {
        precondition(maximumConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.maximumConnections = maximumConnections
        self.logger = logger
        self.state = Mutex(State(machine: Machine(maximum: maximumConnections)))
        self.metrics = PoolMetrics(pool: configuration.applicationName)
    }

    /// Lends a connection to `body` and takes it back when `body` returns or throws.
    ///
    /// A transaction left open by `body` is rolled back; a broken connection is discarded.
    @discardableResult
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PGConnection) async throws -> T
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

    /// Runs `body` in a transaction on a pooled connection (see
    /// ``PGConnection/withTransaction(_:isolation:_:)``): `COMMIT` when it returns,
    /// `ROLLBACK` when it throws or the task is cancelled; a lost `COMMIT` reply is
    /// `commitOutcomeUnknown`.
    ///
    /// ```swift
    /// let id = try await pool.withTransaction { connection in
    ///     try await connection.query("INSERT INTO t DEFAULT VALUES RETURNING id").single(Int64.self)
    /// }
    /// ```
    @discardableResult
    public func withTransaction<T>(
        _ options: PGTransactionOptions = PGTransactionOptions(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PGConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.withTransaction(options) { connection in try await body(connection) }
        }
    }

    /// Closes idle connections, fails waiting callers, and refuses new work. Connections in use
    /// are closed when their scopes end.
    public func shutdown() async {
        let (idle, waiting) = state.withLock { state in
            let (idle, waiters) = state.machine.close()
            let waiting = waiters.compactMap { id -> CheckedContinuation<Grant, any Error>? in
                if let continuation = state.continuations.removeValue(forKey: id) { return continuation }
                state.early[id] = .failure(Self.closedError)
                return nil
            }
            return (idle, waiting)
        }
        for continuation in waiting { continuation.resume(throwing: Self.closedError) }
        for connection in idle { await connection.close() }
        recordState()
    }

    /// Connections open now, and how many of them are idle (for metrics and tests).
    public var statistics: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.machine.open, $0.machine.idle.count, $0.machine.waiting) }
    }

    private static var closedError: PGError {
        PGError(code: .poolClosed, message: "the pool was shut down")
    }

    private func lease() async throws -> PGConnection {
        while true {
            let grant: Grant
            switch state.withLock({ $0.machine.lease() }) {
            case .use(let connection): grant = .connection(connection)
            case .openNew: grant = .openNew
            case .wait(let id):
                let start = ContinuousClock.now
                recordState()
                grant = try await wait(id)
                metrics.recordWait(since: start)
            case .refuse: throw Self.closedError
            }
            switch grant {
            case .connection(let connection):
                // libpq may already know an idle connection is gone; don't hand that one out,
                // nor one opened before a failover.
                guard connection.status != .closed, !isStale(connection) else {
                    if connection.status != .closed { await connection.close() }
                    freeSlot()
                    continue
                }
                recordState()
                return connection
            case .openNew:
                do {
                    let connection = try await PGConnection.connect(configuration: configuration, logger: logger)
                    recordState()
                    return connection
                } catch {
                    freeSlot()
                    throw error
                }
            }
        }
    }

    /// Suspends until the pool serves waiter `id`, or the task is cancelled.
    private func wait(_ id: Machine.WaiterID) async throws -> Grant {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let served = state.withLock { state -> Result<Grant, any Error>? in
                    if let early = state.early.removeValue(forKey: id) { return early }
                    state.continuations[id] = continuation
                    return nil
                }
                if let served { continuation.resume(with: served) }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Grant, any Error>? in
                guard state.machine.cancel(id) else { return nil }  // already served
                if let continuation = state.continuations.removeValue(forKey: id) { return continuation }
                state.early[id] = .failure(CancellationError())
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Serves `id` with `grant`, now if it is suspended, else when it suspends.
    private func serve(_ id: Machine.WaiterID, with grant: Grant, in state: inout State)
        -> CheckedContinuation<Grant, any Error>?
    {
        if let continuation = state.continuations.removeValue(forKey: id) { return continuation }
        state.early[id] = .success(grant)
        return nil
    }

    private func giveBack(_ connection: PGConnection) async {
        // A transaction scope always clears these; anything left means nobody knows the state.
        if connection.prelude.withLock({ !$0.isEmpty }) || connection.takeCommittedInPipeline() {
            await connection.close()
        }
        if connection.isInTransaction { await connection.rollbackQuietly() }
        // A server that takes no writes refused this one's write (a failover): every connection
        // opened until now may be on that server, so each is dropped when next seen; new ones
        // go through libpq's choice of host again.
        // (A refusal on a connection already known to be stale says nothing new.)
        if connection.refusedWrites.load(ordering: .acquiring) {
            let newest = PGConnection.lastIssuedID
            var current = staleThrough.load(ordering: .acquiring)
            while connection.id > current, current < newest {
                let (exchanged, original) = staleThrough.compareExchange(
                    expected: current, desired: newest, ordering: .acquiringAndReleasing)
                if exchanged { break }
                current = original
            }
        }
        // Checked after the rollback: a connection that could not roll back was closed.
        guard connection.status == .idle, !isStale(connection) else {
            if connection.status != .closed { await connection.close() }
            logger.debug("discarding a broken connection", metadata: ["mire.connection": "\(connection.id)"])
            freeSlot()
            return
        }
        let (waiter, closing) = state.withLock {
            state -> (CheckedContinuation<Grant, any Error>?, PGConnection?) in
            switch state.machine.release(connection) {
            case .handOver(let connection, let id): (serve(id, with: .connection(connection), in: &state), nil)
            case .keep: (nil, nil)
            case .close(let connection): (nil, connection)
            }
        }
        waiter?.resume(returning: .connection(connection))
        if let closing { await closing.close() }
        recordState()
    }

    /// Whether `connection` was opened before the last refusal of a write by a server that takes none.
    private func isStale(_ connection: PGConnection) -> Bool {
        connection.id <= staleThrough.load(ordering: .acquiring)
    }

    /// Publishes the pool's size and queue to the metrics.
    private func recordState() {
        let (open, idle, waiting) = statistics
        metrics.record(open: open, idle: idle, waiting: waiting)
    }

    /// A connection's slot is free: a waiter may open a new one in it.
    private func freeSlot() {
        let waiter = state.withLock { state -> CheckedContinuation<Grant, any Error>? in
            switch state.machine.slotFreed() {
            case .none: nil
            case .openNew(let id): serve(id, with: .openNew, in: &state)
            }
        }
        waiter?.resume(returning: .openNew)
        recordState()
    }
}

extension PGConnection {
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
        _ = takePrelude()
        guard !handle.isBroken, isInTransaction else { return }
        do {
            try queryIgnoringCancellation("ROLLBACK")
        } catch {
            close()
        }
    }
}
