public import Foundation

/// Proof of a commit, for reading your own writes on a replica: a load or read given the token
/// (`.replica(after: token)`) is served by a standby only once the standby shows this commit,
/// else by the primary.
///
/// The token names an event the commit wrote: its global position and its id. A standby that
/// holds that event has replayed the commit, and every commit acknowledged before it (WAL is
/// replayed in order). It costs the save nothing (both come back with it), and it stays valid on
/// a promoted standby. The id makes it exact: after an asynchronous failover lost the commit, the
/// new primary may hand the same position to another event, which does not match. As text it is
/// `mire-commit:<position>:<event id>`, to travel in a header or a cookie between requests.
///
/// ```swift
/// let saved = try await store.save(&account)
/// let token = saved.commitToken                  // nil when nothing was written
/// let header = token?.description                // "mire-commit:1234:6F9619FF-…"
/// let again = header.flatMap(CommitToken.init)   // the same token
/// ```
public struct CommitToken: Sendable, Hashable, Codable, LosslessStringConvertible {
    /// The global position of an event the commit wrote.
    public var position: Int64
    /// That event's id.
    public var eventID: UUID

    /// The token of the commit that wrote event `eventID` at `position`.
    ///
    /// ```swift
    /// let token = CommitToken(position: 1234, eventID: event.metadata.eventID)
    /// ```
    public init(position: Int64, eventID: UUID) {
        self.position = position
        self.eventID = eventID
    }

    /// Parses `mire-commit:<position>:<event id>`; nil for anything else.
    public init?(_ description: String) {
        guard description.hasPrefix(Self.prefix) else { return nil }
        let parts = description.dropFirst(Self.prefix.count).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let position = Int64(parts[0]), position > 0,
            let eventID = UUID(uuidString: String(parts[1]))
        else { return nil }
        self.init(position: position, eventID: eventID)
    }

    public var description: String { "\(Self.prefix)\(position):\(eventID.uuidString)" }

    private static let prefix = "mire-commit:"
}

extension AppendResult {
    /// The token of the commit that stored these events (also when an earlier attempt stored
    /// them); nil when nothing was written, or the store does not give event ids back.
    ///
    /// ```swift
    /// let token = try await store.save(&account).commitToken
    /// ```
    public var commitToken: CommitToken? {
        guard let position = positions.last, let lastEventID else { return nil }
        return CommitToken(position: position, eventID: lastEventID)
    }
}
