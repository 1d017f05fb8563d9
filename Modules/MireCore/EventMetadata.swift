public import Foundation

/// What is known about an event besides its payload: its id, what caused it, and free-form keys.
///
/// ```swift
/// var metadata = EventMetadata(correlationID: requestID)
/// metadata.custom["user"] = "alice"
/// account.record(.deposited(amount: 100), metadata: metadata)
/// ```
public struct EventMetadata: Sendable, Hashable, Codable {
    /// The event's unique id. A retried save with the same ids writes nothing twice.
    public var eventID: UUID
    /// Ties together every event caused by one request or process.
    public var correlationID: UUID?
    /// The id of the event or command that caused this one.
    public var causationID: UUID?
    /// Free-form keys (user, tenant, source, …).
    public var custom: [String: String]

    /// Metadata with a fresh event id.
    public init(
        eventID: UUID = UUID(),
        correlationID: UUID? = nil,
        causationID: UUID? = nil,
        custom: [String: String] = [:]
    ) {
        self.eventID = eventID
        self.correlationID = correlationID
        self.causationID = causationID
        self.custom = custom
    }

    private static let emptyJSON = Data("{}".utf8)

    /// The JSON stored in the `metadata` column (the event id has a column of its own).
    package func storedJSON() -> Data {
        if correlationID == nil && causationID == nil && custom.isEmpty { return Self.emptyJSON }
        struct Stored: Encodable {
            var correlationID: UUID?
            var causationID: UUID?
            var custom: [String: String]?
        }
        let stored = Stored(
            correlationID: correlationID, causationID: causationID, custom: custom.isEmpty ? nil : custom)
        return (try? JSONEncoder().encode(stored)) ?? Data("{}".utf8)
    }

    /// Metadata rebuilt from its stored JSON and event id.
    package init(eventID: UUID, storedJSON: Data) {
        if storedJSON.count <= 2 {  // "{}": the common case, no decoder needed
            self.init(eventID: eventID)
            return
        }
        struct Stored: Decodable {
            var correlationID: UUID?
            var causationID: UUID?
            var custom: [String: String]?
        }
        let stored = try? decodeJSON(Stored.self, from: storedJSON)
        self.init(
            eventID: eventID,
            correlationID: stored?.correlationID,
            causationID: stored?.causationID,
            custom: stored?.custom ?? [:]
        )
    }
}
