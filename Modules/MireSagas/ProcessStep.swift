public import MireCore
import MireTransactions
import Synchronization

/// What a reaction's step reads and writes aggregates through, in the delivery's transaction:
/// loads lock the stream until the delivery commits; saves stamp the events with ids derived
/// from the triggering event (and the trigger's correlation and causation).
///
/// ```swift
/// .step { step in
///     guard var from = try await step.load(Account.self, id: source) else { return }
///     from.record(.released(amount: amount, transfer: transfer))
///     try await step.save(&from)
/// }
/// ```
public final class ProcessStep: Sendable {
    private let transaction: EventTransaction
    /// Stamps event `event` of save `save` of this step.
    private let stamp: @Sendable (_ save: Int, _ event: Int, inout EventMetadata) -> Void
    private let saves = Mutex(0)

    init(
        transaction: EventTransaction,
        stamp: @escaping @Sendable (_ save: Int, _ event: Int, inout EventMetadata) -> Void
    ) {
        self.transaction = transaction
        self.stamp = stamp
    }

    /// Loads the aggregate `type` with id `id`, locking its stream until the delivery commits;
    /// nil when it has no events.
    public func load<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A>? {
        try await transaction.loadForUpdate(A.self, id: id)
    }

    /// Saves what `root` recorded (nothing when it recorded nothing), in the delivery's
    /// transaction.
    public func save<A: Aggregate>(_ root: inout AggregateRoot<A>) async throws {
        guard root.hasUncommittedEvents else { return }
        let save = saves.withLock { count in
            defer { count += 1 }
            return count
        }
        root.updateUncommittedMetadata { event, metadata in stamp(save, event, &metadata) }
        try await transaction.save(&root)
    }
}
