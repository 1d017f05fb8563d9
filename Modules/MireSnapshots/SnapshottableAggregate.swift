public import MirePostgres

/// An aggregate whose state can be snapshotted: `Codable`, with a schema version.
///
/// Bump ``snapshotSchemaVersion`` whenever the state's shape or meaning changes: every older
/// snapshot is then ignored (the aggregate is replayed from its events) and replaced by the next
/// one taken.
///
/// ```swift
/// extension Account: SnapshottableAggregate {
///     static let snapshotSchemaVersion = 1
///     static let snapshotInterval: Int? = 100   // optional: overrides the store-wide policy
/// }
/// ```
public protocol SnapshottableAggregate: Aggregate, Codable {
    /// The version of the state's encoded shape.
    static var snapshotSchemaVersion: Int { get }
    /// Take a snapshot every this many events for this aggregate; nil = the store-wide policy.
    static var snapshotInterval: Int? { get }
}

extension SnapshottableAggregate {
    public static var snapshotInterval: Int? { nil }
}
