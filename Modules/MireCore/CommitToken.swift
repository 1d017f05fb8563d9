/// Proof of a commit, for reading your own writes on a replica: a load or read given the token
/// (`.replica(after: token)`) is served by a standby only once the standby shows this commit,
/// else by the primary.
///
/// The token is the global position of an event the commit wrote. A standby that holds that
/// event has replayed the commit, and every commit acknowledged before it (WAL is replayed in
/// order). It costs the save nothing (the position comes back with it), survives a failover
/// (positions are the same on a promoted standby), and a token whose event no server holds
/// names a commit lost in an asynchronous failover. As text it is `mire-commit:<position>`, to
/// travel in a header or a cookie between requests.
///
/// ```swift
/// let saved = try await store.save(&account)
/// let token = saved.commitToken                  // nil when nothing was written
/// let header = token?.description                // "mire-commit:1234"
/// let again = header.flatMap(CommitToken.init)   // the same token
/// ```
public struct CommitToken: Sendable, Hashable, Codable, Comparable, LosslessStringConvertible {
    /// The global position of an event the commit wrote.
    public var position: Int64

    /// The token of the commit that wrote the event at `position`.
    ///
    /// ```swift
    /// let token = CommitToken(position: 1234)
    /// ```
    public init(position: Int64) {
        self.position = position
    }

    /// Parses `mire-commit:<position>`; nil for anything else.
    public init?(_ description: String) {
        guard description.hasPrefix(Self.prefix), let position = Int64(description.dropFirst(Self.prefix.count)),
            position > 0
        else { return nil }
        self.position = position
    }

    public var description: String { Self.prefix + String(position) }

    public static func < (lhs: CommitToken, rhs: CommitToken) -> Bool { lhs.position < rhs.position }

    private static let prefix = "mire-commit:"
}

extension AppendResult {
    /// The token of the commit that stored these events (also when an earlier attempt stored
    /// them); nil when nothing was written.
    ///
    /// ```swift
    /// let token = try await store.save(&account).commitToken
    /// ```
    public var commitToken: CommitToken? { positions.max().map(CommitToken.init(position:)) }
}
