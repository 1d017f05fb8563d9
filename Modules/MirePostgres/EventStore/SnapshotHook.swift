public import MireCore

/// How the store uses snapshots, when a snapshot module is configured (MireSnapshots provides
/// one). The store asks it for a starting point before replaying, and tells it about saves.
///
/// ```swift
/// let store = EventStore(pool: pool, configuration: .init(snapshots: Snapshots(policy: .every(100))), logger: logger)
/// ```
public protocol SnapshotHook: Sendable {
    /// A root restored from the latest usable snapshot of `stream` (at the snapshot's version),
    /// or nil to replay from the start. Must never throw: a bad snapshot means "replay".
    func restore<A: Aggregate>(_ type: A.Type, stream: StreamID, store: EventStore) async -> AggregateRoot<A>?

    /// Called after a save committed `root` at `root.version` (it was at `previousVersion`).
    /// Must not fail the save; a snapshot it takes should stay off the caller's critical path.
    func didSave<A: Aggregate>(_ root: AggregateRoot<A>, previousVersion: Int64, store: EventStore) async
}
