internal import CLibPQ
import Foundation
public import Logging
import Synchronization

/// One connection to PostgreSQL.
///
/// Each connection is an actor bound to its own serial executor (a private Dispatch queue), so
/// libpq's blocking calls never run on Swift's cooperative thread pool. A statement runs to
/// completion without suspending, so two calls can never interleave on the wire. A statement
/// already prepared on the connection takes a shorter way: its caller sends it without blocking
/// and `PGEventLoop` reads the reply (see `sendFromCaller`); `ConnectionGate` keeps the two
/// ways apart.
///
/// Get one from a ``PGPool`` (`withConnection`, `withTransaction`) or open one yourself:
///
/// ```swift
/// let connection = try await PGConnection.connect(configuration: config, logger: logger)
/// let rows = try await connection.query("SELECT \(42)::int8 + 1")
/// print(try rows.single(Int64.self))  // 43
/// ```
public actor PGConnection {
    private static let counter = Mutex<Int>(0)

    /// The highest ``id`` handed out so far: connections opened later have higher ones.
    static var lastIssuedID: Int { counter.withLock { $0 } }

    /// A process-unique number, for logs; rises with every connection opened.
    public nonisolated let id: Int
    nonisolated let executor: SerialQueueExecutor
    let handle: LibPQHandle
    let canceller: QueryCanceller
    /// SQL text → server-side prepared statement name, for this connection. Used by whoever holds
    /// the handle (see ``ConnectionGate``); the mutex is never contended.
    nonisolated let preparedStatements = Mutex(PreparedStatementNames())
    nonisolated let logger: Logger
    /// The server's process id for this connection (for `pg_cancel_backend`,
    /// `pg_terminate_backend`, and to find a transaction whose commit outcome is unknown).
    public nonisolated let backendPID: Int32
    /// ``ConnectionStatus`` after the last operation, readable without entering the executor.
    private nonisolated let statusStore = Atomic<UInt8>(ConnectionStatus.idle.rawValue)
    /// Statements to send in the same round trip as the next one (a transaction's `BEGIN`).
    nonisolated let prelude = Mutex<[PGQuery]>([])
    /// Set when ``commit(after:prepared:)`` ended the current transaction.
    nonisolated let committedInPipeline = Mutex(false)
    /// Set when the server refused a write because it takes none (a standby, a read-only
    /// primary): the pool then drops the connection instead of lending it again.
    nonisolated let refusedWrites = Atomic<Bool>(false)

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private init(id: Int, executor: SerialQueueExecutor, handle: LibPQHandle, logger: Logger) {
        self.id = id
        self.executor = executor
        self.handle = handle
        self.canceller = QueryCanceller(handle: handle)
        self.logger = logger
        self.backendPID = PQbackendPID(handle.pointer)
    }

    /// Opens a connection. The blocking connect runs on the new connection's own queue.
    ///
    /// ```swift
    /// let connection = try await PGConnection.connect(
    ///     configuration: PGConfiguration(url: "postgresql://postgres@127.0.0.1:5432/postgres"),
    ///     logger: Logger(label: "db"))
    /// ```
    ///
    /// - Throws: ``PGError`` with code `connectionFailed` when the server is unreachable,
    ///   the credentials are refused or the database does not exist.
    public static func connect(configuration: PGConfiguration, logger: Logger) async throws -> PGConnection {
        let id = counter.withLock { value in
            value += 1
            return value
        }
        var logger = logger
        logger[metadataKey: "mire.connection"] = "\(id)"
        let executor = SerialQueueExecutor(label: "mire.postgres.connection.\(id)")
        let connectLogger = logger
        let handle = try await executor.run { () throws(PGError) -> LibPQHandle in
            try LibPQHandle.connect(configuration, logger: connectLogger)
        }
        logger.trace("connection opened")
        return PGConnection(id: id, executor: executor, handle: handle, logger: logger)
    }

    /// Where the connection stood after its last operation.
    nonisolated var status: ConnectionStatus {
        ConnectionStatus(rawValue: statusStore.load(ordering: .acquiring)) ?? .closed
    }

    /// Whether the connection is closed or known to be broken. A broken connection is never reused.
    public var isBroken: Bool { status == .closed || handle.isBroken }

    /// Whether the connection is idle outside any transaction.
    public nonisolated var isIdle: Bool { status == .idle }

    /// Whether a transaction is open (or failed and waiting for `ROLLBACK`).
    public nonisolated var isInTransaction: Bool { status == .inTransaction || status == .failedTransaction }

    /// Publishes where the connection stands after an operation, and closes it when nobody can
    /// vouch for its state (broken, a command still active, pipeline mode not left).
    nonisolated func settle() {
        guard !handle.isFinished else { return }
        let current =
            handle.isBroken || PQpipelineStatus(handle.pointer) != PQ_PIPELINE_OFF
            ? ConnectionStatus.closed : ConnectionStatus(transactionStatus: PQtransactionStatus(handle.pointer))
        if current == .closed {
            logger.debug("closing a connection in an uncertain state")
            closeHandle()
        } else {
            statusStore.store(current.rawValue, ordering: .releasing)
        }
    }

    /// The error for a connection found broken. `mayHaveExecuted`: the statement had gone out
    /// and could have committed on its own (autocommit, or a `COMMIT`); a statement inside an
    /// open transaction cannot have — the transaction dies with the connection.
    nonisolated func connectionLost(_ sql: String?, mayHaveExecuted: Bool) -> PGError {
        var error = PGError(
            code: .connectionLost,
            message: handle.isFinished ? "the connection is closed" : "the connection was lost: \(handle.errorMessage)",
            query: sql)
        error.mayHaveExecuted = mayHaveExecuted
        error.backendPID = backendPID
        return error
    }

    /// Reads whatever the server sent while the connection was idle: a backend terminated or a
    /// server shut down meanwhile announced it (FATAL, then EOF), and sending a statement now
    /// would wrongly make its outcome unknown.
    nonisolated func consumeIdleInput() {
        // A closed connection's handle is freed: never touch it.
        guard !handle.isBroken else { return }
        // The FATAL message and the end of the stream arrive together; reading takes two calls.
        for _ in 0..<4 {
            var descriptor = pollfd(fd: PQsocket(handle.pointer), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0, PQconsumeInput(handle.pointer) == 1, !handle.isBroken else { return }
        }
    }

    /// Whether a statement sent now could commit by itself: no transaction block is open and
    /// no `BEGIN` waits in the prelude.
    nonisolated var isAutocommit: Bool { status == .idle && prelude.withLock { $0.isEmpty } }

    /// Takes the statements waiting to go out with the next one.
    func takePrelude() -> [PGQuery] {
        prelude.withLock { pending in
            defer { pending = [] }
            return pending
        }
    }

    /// Runs one statement with its parameters bound (extended protocol, binary results).
    ///
    /// With `prepared: true` the statement is parsed once per connection and reused by its SQL
    /// text: use it for hot statements. Cancelling the task cancels the statement on the server
    /// and throws `CancellationError`.
    ///
    /// ```swift
    /// let rows = try await connection.query("SELECT name FROM users WHERE id = \(id)", prepared: true)
    /// ```
    @discardableResult
    public nonisolated func query(_ query: PGQuery, prepared: Bool = false) async throws -> PGRows {
        if prepared, let rows = try await sendFromCaller(query) { return rows }
        return try await queryOnExecutor(query, prepared: prepared)
    }

    /// ``query(_:prepared:)`` on the connection's own thread.
    private func queryOnExecutor(_ query: PGQuery, prepared: Bool) async throws -> PGRows {
        try await cancellable { connection in try connection.execute(query, prepared: prepared) }
    }

    /// Runs `statements` in libpq's pipeline mode: all are sent before any result is read, with a
    /// single sync at the end, so the batch costs one round trip. The batch runs as one implicit
    /// transaction unless it holds its own `BEGIN`/`COMMIT`: if one statement fails, the ones
    /// after it are skipped, earlier ones roll back, and the first error is thrown.
    ///
    /// ```swift
    /// let results = try await connection.pipeline([
    ///     "INSERT INTO t VALUES (\(1))",
    ///     "INSERT INTO t VALUES (\(2))",
    ///     "SELECT count(*) FROM t",
    /// ])
    /// ```
    @discardableResult
    public func pipeline(_ statements: [PGQuery], prepared: Bool = false) async throws -> [PGRows] {
        try await cancellable { connection in try connection.executePipeline(statements, prepared: prepared) }
    }

    /// Runs trusted SQL text that may hold several statements (a migration script), with the
    /// simple query protocol. It takes no parameters: never build it from user input.
    ///
    /// ```swift
    /// try await connection.executeScript("CREATE TABLE a (id int); CREATE TABLE b (id int);")
    /// ```
    public func executeScript(_ sql: String) async throws {
        try await cancellable { connection in
            connection.consumeIdleInput()
            guard !connection.handle.isBroken else {
                connection.settle()
                throw connection.connectionLost(sql, mayHaveExecuted: false)
            }
            if connection.prelude.withLock({ !$0.isEmpty }) { _ = try connection.executePipeline([], prepared: false) }
            let autocommit = connection.isAutocommit
            defer { connection.settle() }
            _ = try connection.check(PQexec(connection.handle.pointer, sql), query: sql, mayCommit: autocommit)
        }
    }

    /// Runs a statement that must not be cancelled (cleanup such as `ROLLBACK`, or `COMMIT`,
    /// whose outcome must be known).
    @discardableResult
    func queryIgnoringCancellation(_ query: PGQuery) throws -> PGRows {
        try execute(query, prepared: false)
    }

    /// Wraps a synchronous libpq operation so that task cancellation sends `PQcancel`.
    ///
    /// The operation is entered through an explicit actor call (`perform`), so it is guaranteed
    /// to run on this connection's executor, and runs to completion without suspending.
    func cancellable<T: Sendable>(
        _ operation: @Sendable (isolated PGConnection) throws -> T
    ) async throws -> T {
        try Task.checkCancellation()
        let cancellation = StatementCancellation()
        do {
            return try await withTaskCancellationHandler {
                // The compiler warns that nothing here is async; keep the call anyway. Calling
                // `operation(self)` directly in this closure was tried and crashed the test run:
                // the closure did not run on the connection's executor.
                try await self.perform(operation, cancellation)
            } onCancel: { [canceller] in
                if let ticket = cancellation.cancel() { canceller.requestCancel(ticket: ticket) }
            }
        } catch let error as PGError where error.isQueryCanceled && Task.isCancelled {
            throw CancellationError()
        }
    }

    /// Runs `operation` with its cancel ticket taken here, on the connection's thread: tickets
    /// follow the order statements really run in, also when tasks share the connection (a
    /// ticket taken before waiting for the executor would be another statement's by then).
    private func perform<T: Sendable>(
        _ operation: @Sendable (isolated PGConnection) throws -> T, _ cancellation: StatementCancellation
    ) throws -> T {
        let ticket = canceller.begin()
        defer { canceller.end() }
        if cancellation.started(ticket) { throw CancellationError() }
        return try operation(self)
    }

    /// Executes one statement synchronously on this connection's thread (in one round trip with
    /// any statements waiting in the prelude).
    func execute(_ query: PGQuery, prepared: Bool, commits: Bool = false) throws -> PGRows {
        consumeIdleInput()
        guard !handle.isBroken else {
            settle()
            throw connectionLost(query.sql, mayHaveExecuted: false)
        }
        if prelude.withLock({ !$0.isEmpty }) {
            // The prelude goes out with this statement, in one round trip.
            guard let rows = try executePipeline([query], prepared: prepared, commits: commits).last else {
                throw PGError(code: .client, message: "the pipeline returned no result", query: query.sql)
            }
            return rows
        }
        let mayCommit = commits || isAutocommit
        defer { settle() }
        logger.trace("query", metadata: ["sql": "\(query.sql)"])
        let statementName: String? = prepared ? try prepareIfNeeded(query) : nil
        let result = withParameters(query.bindings) { count, types, values, lengths, formats in
            if let statementName {
                // A short name is a small string, not stored null-terminated: `withCString` puts
                // it on the stack, where passing the String would allocate its C copy.
                statementName.withCString { PQexecPrepared(handle.pointer, $0, count, values, lengths, formats, 1) }
            } else {
                PQexecParams(handle.pointer, query.sql, count, types, values, lengths, formats, 1)
            }
        }
        return try check(result, query: query.sql, mayCommit: mayCommit)
    }

    /// Prepares `query` on this connection once; returns its statement name.
    private func prepareIfNeeded(_ query: PGQuery) throws -> String {
        let (known, count) = preparedStatements.withLock { ($0.name(for: query.sql), $0.count) }
        if let known { return known }
        let name = "mire_\(count + 1)"
        let result = query.bindings.types.withUnsafeBufferPointer { types in
            PQprepare(handle.pointer, name, query.sql, Int32(types.count), types.baseAddress)
        }
        _ = try check(result, query: query.sql, mayCommit: false)  // only the PREPARE was in flight
        preparedStatements.withLock { $0.insert(name, for: query.sql) }
        return name
    }

    /// Turns a `PGresult` of a statement that was sent into rows or a typed error. An error that
    /// ends the session (a lost connection, FATAL, `57P0x`) closes the connection; `mayCommit`
    /// says whether the statement could have committed by itself (see ``connectionLost(_:mayHaveExecuted:)``).
    nonisolated func check(_ result: OpaquePointer?, query: String?, mayCommit: Bool) throws -> PGRows {
        guard let result else {
            if handle.isBroken { throw connectionLost(query, mayHaveExecuted: mayCommit) }
            throw PGError(
                code: .client, message: handle.errorMessage.isEmpty ? "no result from libpq" : handle.errorMessage,
                query: query)
        }
        let owned = ResultHandle(result, noticeSink: handle.noticeSink)
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PGRows(handle: owned)
        default:
            var error = PGError(result: result, connectionBroken: handle.isBroken, query: query)
            logger.debug("statement failed", metadata: ["sqlState": "\(error.sqlState ?? "-")"])
            error = classifyingReadOnlyServer(error)
            if error.code == .connectionLost {
                error.mayHaveExecuted = mayCommit
                error.backendPID = backendPID
                closeHandle()
            }
            throw error
        }
    }

    /// `error` as ``PGError/Code-swift.struct/readOnlyServer`` when it is a refused write
    /// (25006) and the server takes no writes at all; the connection is then marked for the
    /// pool to drop. Inside a pipeline the server reports a changed parameter only after the
    /// whole pipeline, so the pipeline classifies its outcome again at its end.
    nonisolated func classifyingReadOnlyServer(_ error: PGError) -> PGError {
        guard error.sqlState == "25006", error.code == .server, serverTakesNoWrites else { return error }
        var error = error
        error.code = .readOnlyServer
        refusedWrites.store(true, ordering: .releasing)
        return error
    }

    /// Whether the server says, in the parameters it reports to every session, that it takes no
    /// writes: a hot standby (`in_hot_standby`, PostgreSQL 14+) or a read-only primary
    /// (`default_transaction_read_only`). Known without a round trip.
    private nonisolated var serverTakesNoWrites: Bool {
        func reported(_ name: String) -> Bool {
            guard let value = PQparameterStatus(handle.pointer, name) else { return false }
            return String(cString: value) == "on"
        }
        return reported("in_hot_standby") || reported("default_transaction_read_only")
    }

    /// Sends `COMMIT` and reports its outcome. It is never cancelled: its outcome must be known.
    /// A lost connection is ``PGError/Code-swift.struct/commitOutcomeUnknown``; a
    /// transaction that had already failed (so `COMMIT` rolled it back) is an error too.
    func commitTransaction() throws {
        let rows: PGRows
        do {
            // Unprepared, so the statement text travels with every COMMIT (fault tests match it).
            rows = try execute("COMMIT", prepared: false, commits: true)
        } catch var error as PGError where error.code == .connectionLost && error.mayHaveExecuted {
            error.code = .commitOutcomeUnknown
            error.message = "the connection was lost after COMMIT was sent: \(error.message)"
            throw error
        }
        if rows.commandTag == "ROLLBACK" {
            throw PGError(
                code: .server, sqlState: "25P02",
                message: "a statement of the transaction had failed, so COMMIT rolled it back")
        }
    }

    /// Closes the connection now (it is also closed when the last reference goes away).
    /// Every later call fails with `connectionLost`.
    public func close() {
        closeHandle()
    }

    /// ``close()`` for whoever holds the handle: the executor, or the event loop reading the
    /// reply of a statement its caller sent.
    nonisolated func closeHandle() {
        statusStore.store(ConnectionStatus.closed.rawValue, ordering: .releasing)
        handle.finish()
        preparedStatements.withLock { $0.removeAll() }
        logger.trace("connection closed")
    }
}

/// Lays out bound parameters as the C arrays `PQexecParams` wants, for the closure's duration:
/// pointers into the bindings' one buffer, on the stack.
func withParameters<R>(
    _ bindings: PGBindings,
    _ body: (
        Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?
    ) -> R
) -> R {
    let count = bindings.count
    return bindings.storage.withUnsafeBytes { storage in
        withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: max(count, 1)) { pointers in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(count, 1)) { formats in
                // A non-null value of length zero still needs a non-null pointer (any address).
                let base = storage.baseAddress ?? formats.baseAddress.map { UnsafeRawPointer($0) }
                for index in 0..<count {
                    let length = bindings.lengths[index]
                    pointers[index] =
                        length < 0
                        ? nil : base.map { ($0 + bindings.offsets[index]).assumingMemoryBound(to: CChar.self) }
                    formats[index] = 1
                }
                return bindings.types.withUnsafeBufferPointer { types in
                    bindings.lengths.withUnsafeBufferPointer { lengths in
                        body(
                            Int32(count), types.baseAddress, UnsafePointer(pointers.baseAddress),
                            lengths.baseAddress, UnsafePointer(formats.baseAddress))
                    }
                }
            }
        }
    }
}
