public import MirePostgres

extension EventStore {
    /// Takes a snapshot of `root` now, whatever the policy says, using the store's snapshot
    /// settings (or the defaults when none are configured). `root` must have no unsaved events.
    ///
    /// ```swift
    /// let account = try await store.load(Account.self, id: "acc-1")!
    /// try await store.takeSnapshot(account)
    /// ```
    public func takeSnapshot<A: SnapshottableAggregate>(_ root: AggregateRoot<A>) async throws {
        guard !root.hasUncommittedEvents else {
            throw MireError(
                code: .invalidOperation, message: "cannot snapshot an aggregate with unsaved events",
                stream: root.id.rawValue,
                recovery: "save it first"
            )
        }
        let configuration = (self.configuration.snapshots as? Snapshots)?.configuration ?? SnapshotConfiguration()
        let blob = try SnapshotBlob.encode(
            root.state, threshold: configuration.compressionThreshold, level: configuration.compressionLevel.rawValue)
        do {
            try await Snapshots.upsert(
                blob, stream: root.id, version: root.version, schema: A.snapshotSchemaVersion, store: self)
        } catch {
            throw MireError.database(error, stream: root.id, doing: "writing a snapshot")
        }
    }
}
