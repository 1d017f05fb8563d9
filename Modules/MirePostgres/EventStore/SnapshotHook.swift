public import Foundation
public import MireCore

/// How the store uses snapshots, when a snapshot module is configured (MireSnapshots provides
/// one). A load reads the latest snapshot and the events after it in one statement, asking the
/// hook which snapshots fit the aggregate and what state one holds; saves are reported to it.
///
/// ```swift
/// let store = EventStore(pool: pool, configuration: .init(snapshots: Snapshots(policy: .every(100))), logger: logger)
/// ```
public protocol SnapshotHook: Sendable {
    /// The schema version of `type`'s snapshots, or nil when `type` is not snapshotted (loads
    /// then do not look for one).
    func schemaVersion<A: Aggregate>(of type: A.Type) -> Int?

    /// The largest snapshot, stored or decoded, a load may read: a larger one is not fetched
    /// (the load replays from the start).
    var maximumStateSize: Int { get }

    /// The state held by `snapshot` of `stream` (now at `streamVersion`), or nil when it cannot
    /// be used: another schema version, ahead of its stream, undecodable (the load then replays
    /// from the start). Must never throw: a bad snapshot means "replay".
    func state<A: Aggregate>(_ type: A.Type, from snapshot: StoredSnapshot, stream: StreamID, streamVersion: Int64)
        -> A?

    /// Called after a save committed `root` at `root.version` (it was at `previousVersion`).
    /// Must not fail the save; a snapshot it takes should stay off the caller's critical path.
    func didSave<A: Aggregate>(_ root: AggregateRoot<A>, previousVersion: Int64, store: EventStore) async
}

/// A snapshot row as a load found it.
public struct StoredSnapshot: Sendable, Hashable {
    /// The stream version the snapshot covers.
    public var version: Int64
    /// The aggregate's snapshot schema version when it was taken.
    public var schemaVersion: Int
    /// How `bytes` are encoded (`json`, `json+zlib`).
    public var encoding: String
    /// The size of the state once decoded, as recorded.
    public var uncompressedSize: Int
    /// The stored state.
    public var bytes: Data

    /// A snapshot row.
    public init(version: Int64, schemaVersion: Int, encoding: String, uncompressedSize: Int, bytes: Data) {
        self.version = version
        self.schemaVersion = schemaVersion
        self.encoding = encoding
        self.uncompressedSize = uncompressedSize
        self.bytes = bytes
    }
}
