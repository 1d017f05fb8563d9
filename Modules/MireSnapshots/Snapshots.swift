import Foundation
public import Logging
import Metrics
public import MirePostgres
import Synchronization

/// Snapshots for the event store: configure once, then keep calling `load` and `save`.
///
/// `load` starts from the latest usable snapshot and replays only the events after it; `save`
/// takes a new snapshot when the policy says so, in the background. A snapshot is never the
/// truth: a schema-version mismatch, a corrupt or undecodable blob, or a snapshot ahead of its
/// stream silently falls back to full replay (logged at debug, counted) and is replaced by the
/// next one taken. A failed snapshot write never fails a save. Counts go to ``statistics`` and to
/// swift-metrics (`mire_snapshot_restored`, `_fallbacks`, `_written`, `_write_failures`).
///
/// ```swift
/// let snapshots = Snapshots(configuration: SnapshotConfiguration(every: 100), logger: logger)
/// let store = EventStore(pool: pool, configuration: .init(snapshots: snapshots), logger: logger)
/// let account = try await store.load(Account.self, id: "acc-1")   // snapshot + tail
/// ```
public final class Snapshots: SnapshotHook {
    /// Counters, for metrics and tests.
    public struct Statistics: Sendable, Hashable {
        /// Loads that started from a snapshot.
        public var restored = 0
        /// Loads that found a snapshot but could not use it and replayed in full.
        public var fellBack = 0
        /// Snapshots written.
        public var written = 0
        /// Snapshot writes that failed (the saves succeeded regardless).
        public var failedWrites = 0
    }

    /// How snapshots are taken and read.
    public let configuration: SnapshotConfiguration
    let logger: Logger
    private let counters = Mutex(Statistics())

    /// Snapshots with `configuration`.
    public init(configuration: SnapshotConfiguration = SnapshotConfiguration(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The counters so far.
    public var statistics: Statistics { counters.withLock { $0 } }

    // MARK: SnapshotHook

    public var maximumStateSize: Int { configuration.maximumStateSize }

    public func schemaVersion<A: Aggregate>(of type: A.Type) -> Int? {
        (A.self as? any SnapshottableAggregate.Type)?.snapshotSchemaVersion
    }

    public func state<A: Aggregate>(
        _ type: A.Type, from snapshot: StoredSnapshot, stream: StreamID, streamVersion: Int64
    )
        -> A?
    {
        guard let snapshottable = A.self as? any SnapshottableAggregate.Type else { return nil }
        guard snapshot.schemaVersion == snapshottable.snapshotSchemaVersion else {
            fallBack(
                stream,
                because:
                    "its schema version \(snapshot.schemaVersion) is not the current \(snapshottable.snapshotSchemaVersion)"
            )
            return nil
        }
        guard snapshot.version <= streamVersion else {
            fallBack(stream, because: "it covers version \(snapshot.version) but the stream is at \(streamVersion)")
            return nil
        }
        do {
            let blob = SnapshotBlob(
                encoding: snapshot.encoding, uncompressedSize: snapshot.uncompressedSize, bytes: snapshot.bytes)
            guard
                let state = try Self.decodeState(snapshottable, blob: blob, limit: configuration.maximumStateSize) as? A
            else { return nil }
            counters.withLock { $0.restored += 1 }
            Counter(label: "mire_snapshot_restored").increment()
            return state
        } catch {
            fallBack(stream, because: "\(error)")
            return nil
        }
    }

    public func didSave<A: Aggregate>(_ root: AggregateRoot<A>, previousVersion: Int64, store: EventStore) async {
        guard let snapshottable = A.self as? any SnapshottableAggregate.Type else { return }
        let interval: Int
        if let own = snapshottable.snapshotInterval {
            interval = own
        } else if case .every(let every) = configuration.policy {
            interval = every
        } else {
            return
        }
        guard interval > 0, root.version / Int64(interval) > previousVersion / Int64(interval) else { return }
        switch configuration.writeMode {
        case .inline:
            await write(root, store: store)
        case .background:
            // A newer snapshot of the same stream replaces one still waiting; when the store is
            // not running, nothing would write it later: write it now.
            let queued = store.runInBackground(key: "snapshot \(root.id)") { [self] in
                await self.write(root, store: store)
            }
            if !queued { await write(root, store: store) }
        }
    }

    /// Writes a snapshot of `root` now; returns whether it was written.
    @discardableResult
    func write<A: Aggregate>(_ root: AggregateRoot<A>, store: EventStore) async -> Bool {
        guard let snapshottable = A.self as? any SnapshottableAggregate.Type, root.version > 0 else { return false }
        do {
            let blob = try Self.encodeState(root.state, as: snapshottable, configuration: configuration)
            try await Self.upsert(
                blob, stream: root.id, version: root.version, schema: snapshottable.snapshotSchemaVersion, store: store)
            counters.withLock { $0.written += 1 }
            Counter(label: "mire_snapshot_written").increment()
            return true
        } catch {
            counters.withLock { $0.failedWrites += 1 }
            Counter(label: "mire_snapshot_write_failures").increment()
            logger.debug(
                "snapshot write failed; the save stands", metadata: ["stream": "\(root.id)", "error": "\(error)"])
            return false
        }
    }

    /// Stores the snapshot unless a newer usable one (same schema, not ahead of its stream) is
    /// already there.
    static func upsert(_ blob: SnapshotBlob, stream: StreamID, version: Int64, schema: Int, store: EventStore)
        async throws
    {
        // The columns are int4: a schema or size beyond them is refused, not trapped on.
        guard let schema = Int32(exactly: schema), let size = Int32(exactly: blob.uncompressedSize) else {
            throw MireError(
                code: .invalidOperation,
                message:
                    "snapshot schema \(schema) or state size \(blob.uncompressedSize) does not fit the int4 column",
                stream: stream.rawValue, version: version,
                recovery: "use a smaller snapshotSchemaVersion, or keep maximumStateSize under 2 GiB")
        }
        try await store.pool.withConnection { connection in
            try await connection.query(
                """
                INSERT INTO mire_snapshots (stream_id, stream_version, schema_version, encoding, uncompressed_size, state)
                VALUES (\(stream.rawValue), \(version), \(schema), \(blob.encoding), \(size), \(blob.bytes))
                ON CONFLICT (stream_id) DO UPDATE SET
                    stream_version = EXCLUDED.stream_version, schema_version = EXCLUDED.schema_version,
                    encoding = EXCLUDED.encoding, uncompressed_size = EXCLUDED.uncompressed_size,
                    state = EXCLUDED.state, taken_at = now()
                WHERE mire_snapshots.stream_version < EXCLUDED.stream_version
                   OR mire_snapshots.schema_version <> EXCLUDED.schema_version
                   -- A snapshot ahead of its stream (written by another tool) is never usable.
                   OR mire_snapshots.stream_version > (
                          SELECT version FROM mire_streams WHERE stream_id = EXCLUDED.stream_id)
                """,
                prepared: true
            )
        }
    }

    private func fallBack(_ stream: StreamID, because reason: String) {
        counters.withLock { $0.fellBack += 1 }
        Counter(label: "mire_snapshot_fallbacks").increment()
        logger.debug("snapshot not used; replaying in full", metadata: ["stream": "\(stream)", "reason": "\(reason)"])
    }

    private static func decodeState<S: SnapshottableAggregate>(_ type: S.Type, blob: SnapshotBlob, limit: Int) throws
        -> S
    {
        try blob.decode(S.self, limit: limit)
    }

    private static func encodeState<S: SnapshottableAggregate>(
        _ state: some Sendable, as type: S.Type, configuration: SnapshotConfiguration
    ) throws -> SnapshotBlob {
        guard let state = state as? S else { throw SnapshotBlob.Unusable(description: "state type mismatch") }
        return try SnapshotBlob.encode(
            state, threshold: configuration.compressionThreshold, level: configuration.compressionLevel.rawValue)
    }
}
