public import MireCore
public import MirePQ

/// A hot standby the store may read from: loads and reads that ask for it
/// (``ReadConsistency/replica`` or ``ReadConsistency/replica(after:)``) go there, everything
/// else — saves, transactions, projections — to the primary.
///
/// ```swift
/// let standby = PGPool(
///     configuration: PGConfiguration(url: "postgresql://app@db2/bank?target_session_attrs=standby"),
///     maximumConnections: 16, logger: logger)
/// var configuration = EventStore.Configuration()
/// configuration.readReplica = ReadReplica(pool: standby, maximumWait: .milliseconds(200))
/// ```
public struct ReadReplica: Sendable {
    /// Connections to the standby (or to a list of standbys: `target_session_attrs=standby`).
    public var pool: PGPool
    /// How long a read given a commit token waits for the standby to show that commit before
    /// it is served by the primary instead.
    public var maximumWait: Duration

    /// A replica read through `pool`.
    ///
    /// ```swift
    /// let replica = ReadReplica(pool: standby)
    /// ```
    public init(pool: PGPool, maximumWait: Duration = .milliseconds(500)) {
        self.pool = pool
        self.maximumWait = maximumWait
    }
}

/// Where a load or read may be served, and how fresh it must be.
///
/// ```swift
/// let saved = try await store.update(Account.self, id: "acc-1") { try $0.deposit(10) }
/// // On the standby once it has replayed that deposit; on the primary if it lags too far.
/// let account = try await store.load(Account.self, id: "acc-1", consistency: .replica(after: saved.commitToken))
/// ```
public struct ReadConsistency: Sendable, Hashable {
    /// The primary: everything committed so far. The default.
    public static let primary = ReadConsistency(usesReplica: false, token: nil)
    /// The replica as it is (it may lag the primary by its replication delay); the primary when
    /// no replica is configured or it cannot be reached.
    public static let replica = ReadConsistency(usesReplica: true, token: nil)

    /// The replica once it shows the commit of `token` (and so every commit acknowledged before
    /// it: read-your-writes), waiting at most ``ReadReplica/maximumWait``; the primary when it
    /// lags longer, cannot be reached, or none is configured. Never older than `token`. A nil
    /// token (a save that wrote nothing, having read the primary) is ``primary``: nothing says
    /// how far the replica must be.
    public static func replica(after token: CommitToken?) -> ReadConsistency {
        token == nil ? .primary : ReadConsistency(usesReplica: true, token: token)
    }

    /// Whether the read may go to the replica.
    public let usesReplica: Bool
    /// The commit the replica must show first.
    public let token: CommitToken?
}

/// Where a replica-routed read was served (the `mire_replica_reads` counter's `served_by`).
package enum ReplicaOutcome: String, Sendable {
    /// By the replica.
    case replica
    /// By the primary: the replica had not shown the token's commit within the wait.
    case primaryReplicaBehind = "primary_replica_behind"
    /// By the primary: the replica could not be reached, or cancelled the read (a recovery conflict).
    case primaryReplicaUnavailable = "primary_replica_unavailable"
}
