import Foundation
public import MirePQ
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
    private struct State: Sendable {
        var connection: PGConnection?
        var open = true
        /// Ids of the events this transaction inserted (not those it found already stored).
        var insertedEventIDs: [UUID] = []
        /// The server's id for this transaction, known once it inserted an event.
        var transactionID: UInt64?
    }
    private let state = Mutex(State())

    init(store: EventStore) {
        self.store = store
    }

    /// Lends `body` a handle on a transaction that someone else opened on `connection` and
    /// commits (a process manager's delivery, which commits with its checkpoint). The handle
    /// closes when `body` returns.
    package static func borrowing<T>(
        _ connection: PGConnection, of store: EventStore, isolation: isolated (any Actor)? = #isolation,
        _ body: (EventTransaction) async throws -> T
    ) async throws -> T {
        let transaction = EventTransaction(store: store)
        transaction.attach(connection)
        defer { transaction.close() }
        return try await body(transaction)
    }

    /// Binds the handle to the scope's connection.
    func attach(_ connection: PGConnection) { state.withLock { $0.connection = connection } }

    /// Ends the scope: later use throws `transactionClosed`.
    func close() { state.withLock { $0.open = false } }

    /// What the scope wrote, to settle an unknown commit outcome: the ids it inserted and its
    /// transaction id.
    var written: (eventIDs: [UUID], transactionID: UInt64?) {
        state.withLock { ($0.insertedEventIDs, $0.transactionID) }
    }

    private func target() throws(MireError) -> QueryTarget {
        let connection = state.withLock { $0.open ? $0.connection : nil }
        guard let connection else {
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

    /// Locks several streams' rows, in the order given, and loads their aggregates, all in one
    /// round trip. Give the ids in one fixed order everywhere (e.g. sorted) so that opposite
    /// scopes cannot deadlock. Missing streams are absent from the result (and lock nothing).
    ///
    /// ```swift
    /// let accounts = try await tx.loadForUpdate(Account.self, ids: [from, to].sorted())
    /// guard var a = accounts[from], var b = accounts[to] else { throw BankError.notFound }
    /// ```
    public func loadForUpdate<A: Aggregate>(_ type: A.Type, ids: [String]) async throws -> [String: AggregateRoot<A>] {
        let starts = try ids.map {
            AggregateRoot<A>(stream: try StreamID(category: A.category, id: $0), state: A(), version: 0)
        }
        let roots = try await store.replay(starts, on: try target(), lockingStreams: true)
        var loaded: [String: AggregateRoot<A>] = [:]
        for (id, root) in zip(ids, roots) { if let root { loaded[id] = root } }
        return loaded
    }

    /// Saves the aggregate's recorded events within the transaction (committed with the scope).
    @discardableResult
    public func save<A: Aggregate>(_ root: inout AggregateRoot<A>) async throws -> AppendResult {
        guard root.hasUncommittedEvents else {
            return AppendResult(stream: root.id, version: root.version, positions: [], wasAlreadyStored: false)
        }
        let events = store.carryingTraceContext(try EventStore.encode(root))
        let result = try await append(events, to: root.id, expecting: root.expectedVersion)
        try EventStore.markSaved(&root, by: result)
        return result
    }

    /// Saves several aggregates' recorded events within the transaction, in one round trip.
    ///
    /// ```swift
    /// var both = [from, to]
    /// try await tx.save(&both)
    /// ```
    @discardableResult
    public func save<A: Aggregate>(_ roots: inout [AggregateRoot<A>]) async throws -> [AppendResult] {
        let pending = roots.indices.filter { roots[$0].hasUncommittedEvents }
        guard !pending.isEmpty else { return [] }
        let appends = try pending.map { index in
            StreamAppend(
                stream: roots[index].id, expecting: roots[index].expectedVersion,
                events: store.carryingTraceContext(try EventStore.encode(roots[index])))
        }
        let outcomes = try await store.append(appends, on: try target())
        var results: [AppendResult] = []
        for ((index, append), (result, transactionID)) in zip(zip(pending, appends), outcomes) {
            record(append.events, result: result, transactionID: transactionID)
            try EventStore.markSaved(&roots[index], by: result)
            results.append(result)
        }
        return results
    }

    /// Remembers what this transaction inserted (to settle an unknown commit outcome).
    private func record(_ events: [NewEvent], result: AppendResult, transactionID: UInt64?) {
        guard !result.wasAlreadyStored, !events.isEmpty else { return }
        state.withLock { state in
            state.insertedEventIDs += events.map(\.metadata.eventID)
            if let transactionID { state.transactionID = transactionID }
        }
    }

    /// Appends ready-made events within the transaction.
    @discardableResult
    public func append(_ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion) async throws
        -> AppendResult
    {
        let (result, transactionID) = try await store.append(events, to: stream, expecting: expected, on: try target())
        record(events, result: result, transactionID: transactionID)
        return result
    }

    /// The scope's connection, for read-model SQL that must commit with the events.
    public var sqlConnection: PGConnection {
        get throws(MireError) {
            guard case .connection(let connection) = try target() else {
                throw MireError(code: .transactionClosed, message: "the transaction has no connection")
            }
            return connection
        }
    }
}
