public import MireCore

/// What loads and saves aggregates: ``EventStore`` on PostgreSQL, and `InMemoryEventStore`
/// (MireTesting) for unit tests, with the same semantics — versions, typed conflicts,
/// idempotent event ids, atomic batches. Code written against it runs on either.
///
/// ```swift
/// func deposit(_ amount: Int64, into id: String, on store: some AggregateStore) async throws {
///     try await store.update(Account.self, id: id) { try $0.deposit(amount) }
/// }
/// ```
public protocol AggregateStore: Sendable {
    /// Loads an aggregate by replaying its stream; nil when the stream does not exist.
    func load<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A>?

    /// Loads an aggregate, or a new empty one when its stream does not exist yet.
    func loadOrDefault<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A>

    /// Saves the events recorded on `root`, expecting the stream at the version it was loaded
    /// at; `concurrencyConflict` when another writer saved first. Saving the same events again
    /// reports where they were stored.
    @discardableResult
    func save<A: Aggregate>(_ root: inout AggregateRoot<A>) async throws -> AppendResult

    /// Saves several aggregates atomically: every stream advances or none does.
    @discardableResult
    func save<A: Aggregate>(_ roots: inout [AggregateRoot<A>]) async throws -> [AppendResult]

    /// Appends ready-made events to a stream.
    @discardableResult
    func append(_ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion) async throws
        -> AppendResult

    /// Appends to several streams atomically: all or nothing.
    @discardableResult
    func append(_ batch: [StreamAppend]) async throws -> [AppendResult]

    /// A stream's events from `version` on, at most `limit`, in version order.
    func readStream(_ stream: StreamID, from version: Int64, limit: Int) async throws -> [RawRecordedEvent]

    /// Load → run `command` → save, running the command again on fresh state after a conflict,
    /// under `policy`.
    @discardableResult
    func update<A: Aggregate>(
        _ type: A.Type, id: String, retry policy: RetryPolicy, isolation: isolated (any Actor)?,
        _ command: (inout AggregateRoot<A>) throws -> Void
    ) async throws -> UpdateResult<A>
}

extension AggregateStore {
    /// Load → run `command` → save through the store's own
    /// ``update(_:id:retry:isolation:_:)``, so that a generic caller (`some AggregateStore`)
    /// gets the same retries, including ``EventStore``'s resolution of saves whose outcome was
    /// unknown, as a caller holding the concrete store.
    ///
    /// ```swift
    /// func deposit(into store: some AggregateStore) async throws {
    ///     try await store.update(Account.self, id: "acc-1") { try $0.deposit(5) }
    /// }
    /// ```
    ///
    /// (Protocol requirements cannot have default arguments; this overload supplies them. Its
    /// labels are in another order so that it is not a default implementation of the
    /// requirement, which would shadow the conforming store's own.)
    @discardableResult
    public func update<A: Aggregate>(
        _ type: A.Type, id: String, isolation: isolated (any Actor)? = #isolation, retry policy: RetryPolicy = .default,
        _ command: (inout AggregateRoot<A>) throws -> Void
    ) async throws -> UpdateResult<A> {
        try await update(type, id: id, retry: policy, isolation: isolation, command)
    }
}

extension EventStore: AggregateStore {}
