public import MirePostgres
import Synchronization

/// A transaction on the event store, lent to a ``MirePostgres/EventStore/transaction(_:isolation:_:)``
/// scope. Every operation runs on the scope's one connection; none is visible to others until the
/// scope returns and commits. Using the handle after the scope ends throws `transactionClosed`.
///
/// ```swift
/// try await store.transaction { tx in
///     guard var from = try await tx.loadForUpdate(Account.self, id: "a") else { throw BankError.notFound }
///     try from.withdraw(10)
///     try await tx.save(&from)
/// }
/// ```
public final class EventTransaction: Sendable {
    let store: EventStore
    let connection: PostgresConnection
    private let open = Mutex(true)
    private let appended = Mutex(false)

    /// Whether the scope appended anything (projections are woken after the commit).
    var appendedEvents: Bool { appended.withLock { $0 } }

    init(store: EventStore, connection: PostgresConnection) {
        self.store = store
        self.connection = connection
    }

    func close() { open.withLock { $0 = false } }

    private func target() throws(MireError) -> QueryTarget {
        guard open.withLock({ $0 }) else {
            throw MireError(
                code: .transactionClosed, message: "a transaction handle was used after its scope ended",
                recovery: "do all work inside the closure passed to transaction { }"
            )
        }
        return .connection(connection)
    }

    /// Loads an aggregate without locking it. A writer that saves the stream meanwhile makes this
    /// scope's later save fail with `concurrencyConflict` (retried when the options say so).
    public func load<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A>? {
        let stream = try StreamID(category: A.category, id: id)
        return try await store.replay(AggregateRoot<A>(stream: stream, state: A(), version: 0), on: try target())
    }

    /// Loads an aggregate, or a new empty one, without locking it.
    public func loadOrDefault<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A> {
        let empty = AggregateRoot<A>(stream: try StreamID(category: A.category, id: id), state: A(), version: 0)
        return try await store.replay(empty, on: try target()) ?? empty
    }

    /// Locks the stream's row until the scope ends, then loads the aggregate: other writers of the
    /// stream wait. Nil (and no lock) for a stream that does not exist. Lock several streams in a
    /// fixed order (e.g. sorted ids) so opposite scopes cannot deadlock.
    ///
    /// - Throws: `lockTimeout` when the lock is not granted within the options' lock timeout.
    public func loadForUpdate<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A>? {
        let stream = try StreamID(category: A.category, id: id)
        // The lock is taken by the same statement that reads the first page of events.
        return try await store.replay(
            AggregateRoot<A>(stream: stream, state: A(), version: 0), on: try target(), lockingStream: true)
    }

    /// Saves the aggregate's recorded events within the transaction (committed with the scope).
    @discardableResult
    public func save<A: Aggregate>(_ root: inout AggregateRoot<A>) async throws -> AppendResult {
        guard root.hasUncommittedEvents else {
            return AppendResult(stream: root.id, version: root.version, positions: [], wasAlreadyStored: false)
        }
        let result = try await store.append(
            try EventStore.encode(root), to: root.id, expecting: root.expectedVersion, on: try target())
        appended.withLock { $0 = true }
        root.markSaved(version: result.version)
        return result
    }

    /// Appends ready-made events within the transaction.
    @discardableResult
    public func append(_ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion) async throws
        -> AppendResult
    {
        let result = try await store.append(events, to: stream, expecting: expected, on: try target())
        appended.withLock { $0 = true }
        return result
    }

    /// The scope's connection, for read-model SQL that must commit with the events.
    public var sqlConnection: PostgresConnection {
        get throws(MireError) {
            _ = try target()
            return connection
        }
    }
}
