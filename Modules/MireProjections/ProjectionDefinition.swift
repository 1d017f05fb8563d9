@_spi(Internals) import MireCore
public import MirePQ
public import MirePostgres

/// A projection: a stable name, an optional category, and a handler for each event.
///
/// **Transactional** handlers get the connection of a transaction in which their read-model
/// writes and the fenced checkpoint commit together: effectively exactly-once for read models in
/// the same database. **Plain** handlers run outside it (to call other systems) and are
/// at-least-once: after a crash an event may be handled again.
///
/// ```swift
/// let balances = Projection.transactional("account_balances", of: Account.self) { event, connection in
///     if case .deposited(let amount) = event.event {
///         try await connection.query(
///             "UPDATE account_balances SET balance = balance + \(amount) WHERE account = \(event.stream.entityID)")
///     }
/// }
/// ```
public struct Projection: Sendable {
    /// Whether writes and checkpoint commit together.
    public enum Delivery: Sendable, Hashable {
        /// Handler writes and checkpoint in one transaction: exactly-once for in-database read models.
        case transactional
        /// Handler outside the checkpoint's transaction: at-least-once.
        case plain
    }

    /// The stable name (renaming starts the projection from scratch).
    public let name: String
    /// Only events of this category, or all when nil.
    public let category: String?
    /// How handler effects and checkpoints relate.
    public let delivery: Delivery
    /// Handles a batch of events, in delivery order; the connection is the transaction's for
    /// transactional projections, a pooled one otherwise. (Per-event handlers are wrapped.)
    public let handleBatch: @Sendable ([RawRecordedEvent], PGConnection) async throws -> Void
    /// Clears the read model for a rebuild (run in the transaction that resets the checkpoint).
    public let reset: (@Sendable (PGConnection) async throws -> Void)?
    /// Whether handling appends events (a process manager's commands): the runner then wakes
    /// other readers after each delivery commits, as a save does.
    package var appendsEvents = false
    /// When set, a delivery holds the events up to and including the first relevant one (all
    /// of a batch when none is): each relevant event gets a transaction of its own, and the
    /// events the handler ignores ride along instead of costing one each (a process manager).
    package var relevance: (@Sendable (RawRecordedEvent) -> Bool)?

    /// A projection over raw events.
    public init(
        name: String, category: String?, delivery: Delivery,
        reset: (@Sendable (PGConnection) async throws -> Void)? = nil,
        handle: @escaping @Sendable (RawRecordedEvent, PGConnection) async throws -> Void
    ) {
        self.name = name
        self.category = category
        self.delivery = delivery
        self.handleBatch = { events, connection in
            for event in events { try await handle(event, connection) }
        }
        self.reset = reset
    }

    /// A projection whose handler takes each batch at once (one statement per batch, say).
    /// After a failure the runner retries one event at a time, so a batch may hold a single event.
    ///
    /// ```swift
    /// let counts = Projection.batched(name: "counts", category: "account", delivery: .transactional) { events, connection in
    ///     try await connection.query("UPDATE totals SET n = n + \(Int64(events.count))")
    /// }
    /// ```
    public static func batched(
        name: String, category: String?, delivery: Delivery,
        reset: (@Sendable (PGConnection) async throws -> Void)? = nil,
        handle: @escaping @Sendable ([RawRecordedEvent], PGConnection) async throws -> Void
    ) -> Projection {
        Projection(name: name, category: category, delivery: delivery, reset: reset, handleBatch: handle)
    }

    private init(
        name: String, category: String?, delivery: Delivery,
        reset: (@Sendable (PGConnection) async throws -> Void)?,
        handleBatch: @escaping @Sendable ([RawRecordedEvent], PGConnection) async throws -> Void
    ) {
        self.name = name
        self.category = category
        self.delivery = delivery
        self.handleBatch = handleBatch
        self.reset = reset
    }

    /// A transactional projection over one aggregate's events, decoded.
    public static func transactional<A: Aggregate>(
        _ name: String, of aggregate: A.Type,
        reset: (@Sendable (PGConnection) async throws -> Void)? = nil,
        handle: @escaping @Sendable (RecordedEvent<A.Event>, PGConnection) async throws -> Void
    ) -> Projection {
        let codec = EventCodec<A>()
        return Projection(name: name, category: A.category, delivery: .transactional, reset: reset) { raw, connection in
            try await handle(try codec.decode(raw), connection)
        }
    }

    /// A transactional projection over one aggregate's events, decoded and handed over a batch
    /// at a time (for set-based writes).
    public static func transactionalBatch<A: Aggregate>(
        _ name: String, of aggregate: A.Type,
        reset: (@Sendable (PGConnection) async throws -> Void)? = nil,
        handle: @escaping @Sendable ([RecordedEvent<A.Event>], PGConnection) async throws -> Void
    ) -> Projection {
        let codec = EventCodec<A>()
        return .batched(name: name, category: A.category, delivery: .transactional, reset: reset) { raw, connection in
            try await handle(try raw.map { try codec.decode($0) }, connection)
        }
    }

    /// A plain (at-least-once) projection over one aggregate's events, decoded.
    public static func plain<A: Aggregate>(
        _ name: String, of aggregate: A.Type,
        handle: @escaping @Sendable (RecordedEvent<A.Event>) async throws -> Void
    ) -> Projection {
        let codec = EventCodec<A>()
        return Projection(name: name, category: A.category, delivery: .plain) { raw, _ in
            try await handle(try codec.decode(raw))
        }
    }
}
