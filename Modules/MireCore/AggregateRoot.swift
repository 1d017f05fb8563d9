/// An aggregate's state with its identity, stored version and events recorded but not saved.
///
/// This is what `load` returns and `save` takes. Commands are methods you add in an extension:
/// they validate against `state` and then `record` events, so invalid operations never reach
/// the log. Recording applies the event to `state` at once.
///
/// ```swift
/// extension AggregateRoot where State == Account {
///     mutating func withdraw(_ amount: Int64) throws {
///         guard state.isOpen else { throw BankError.closed }
///         guard amount <= state.balance else { throw BankError.insufficientFunds }
///         record(.withdrawn(amount: amount))
///     }
/// }
///
/// var account = try await store.loadOrDefault(Account.self, id: "acc-1")
/// try account.withdraw(30)
/// try await store.save(&account)
/// ```
public struct AggregateRoot<State: Aggregate>: Sendable {
    /// An event recorded but not saved yet, with its metadata.
    public struct PendingEvent: Sendable {
        /// The event.
        public var event: State.Event
        /// Its metadata (the event id makes a retried save idempotent).
        public var metadata: EventMetadata
    }

    /// The stream id, `category-id`.
    public let id: StreamID
    /// The current state: stored events plus recorded ones, folded.
    public private(set) var state: State
    /// The version stored in the log when this root was loaded or last saved (0 for a new stream).
    public private(set) var version: Int64
    /// Events recorded since then, in order.
    public private(set) var uncommittedEvents: [PendingEvent]
    /// How this root was loaded: from which snapshot (if any) and how many events were replayed.
    public private(set) var loadDetails = LoadDetails()

    /// How an aggregate was loaded.
    public struct LoadDetails: Sendable, Hashable, Codable {
        /// The version of the snapshot the load started from; nil when it replayed from the start.
        public var snapshotVersion: Int64?
        /// Events read from the log and applied during the load.
        public var eventsReplayed = 0
    }

    /// A new, empty aggregate for `id` in `State.category`.
    ///
    /// ```swift
    /// var account = try AggregateRoot<Account>(id: "acc-1")
    /// ```
    public init(id: String) throws(MireError) {
        self.init(stream: try StreamID(category: State.category, id: id), state: State(), version: 0)
    }

    /// A root rebuilt from stored state (for the store and snapshots).
    package init(stream: StreamID, state: State, version: Int64, restoredFromSnapshot: Bool = false) {
        self.id = stream
        self.state = state
        self.version = version
        self.uncommittedEvents = []
        if restoredFromSnapshot { loadDetails.snapshotVersion = version }
    }

    /// The entity id without the category, e.g. `acc-1`.
    public var entityID: String { id.entityID }

    /// Whether the stream has no stored events (it is created by the first save).
    public var isNew: Bool { version == 0 }

    /// What a save will expect of the stream: exactly the version this root was loaded at.
    public var expectedVersion: ExpectedVersion { .exact(version) }

    /// The version after the recorded events are saved.
    public var currentVersion: Int64 {
        // Versions come from the server: clamp rather than trap on one at the limit.
        let (sum, overflow) = version.addingReportingOverflow(Int64(uncommittedEvents.count))
        return overflow ? .max : sum
    }

    /// Whether there is anything to save.
    public var hasUncommittedEvents: Bool { !uncommittedEvents.isEmpty }

    /// Records an event: applies it to `state` now and keeps it for the next save.
    public mutating func record(_ event: State.Event, metadata: EventMetadata = EventMetadata()) {
        state.apply(event)
        uncommittedEvents.append(PendingEvent(event: event, metadata: metadata))
    }

    /// Records several events in order.
    ///
    /// ```swift
    /// account.record(contentsOf: [.deposited(amount: 5), .deposited(amount: 7)])
    /// ```
    public mutating func record(contentsOf events: some Sequence<State.Event>) {
        for event in events { record(event) }
    }

    /// Applies a stored event while loading (not recorded again), after the state's
    /// `checkApplicable(_:)` accepted it.
    package mutating func replay(_ event: State.Event, version: Int64, position: Int64) throws(MireError) {
        do {
            try state.checkApplicable(event)
        } catch {
            throw MireError(
                code: .eventRefused, message: "\(State.self) refuses the stored event: \(error)", stream: id.rawValue,
                version: version, position: position,
                recovery: "register an upcaster that corrects the stored event, restore the stream from a backup, "
                    + "or relax \(State.self).checkApplicable(_:)",
                underlying: error)
        }
        state.apply(event)
        self.version = version
        loadDetails.eventsReplayed += 1
    }

    /// Rewrites the metadata of the events recorded and not yet saved, by their index among
    /// them: a process manager's reaction derives their ids from the event that triggered it.
    package mutating func updateUncommittedMetadata(_ update: (_ index: Int, inout EventMetadata) -> Void) {
        for index in uncommittedEvents.indices { update(index, &uncommittedEvents[index].metadata) }
    }

    /// Marks the recorded events as stored at `newVersion`.
    package mutating func markSaved(version newVersion: Int64) {
        version = newVersion
        uncommittedEvents = []
    }
}
