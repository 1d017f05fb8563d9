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
        eventID: UUID = .randomEventID(),
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
    ///
    /// - Throws: ``MireError`` `undecodableEvent` when the JSON is not an object whose
    ///   `correlationID` and `causationID` are UUIDs and whose `custom` is an object of strings
    ///   (as another tool writing to the table might store it). Unknown keys are ignored.
    package init(eventID: UUID, storedJSON: Data) throws(MireError) {
        if storedJSON.elementsEqual(Self.emptyJSON) {  // the common case, no decoder needed
            self.init(eventID: eventID)
            return
        }
        struct Stored: Decodable {
            var correlationID: UUID?
            var causationID: UUID?
            var custom: [String: String]?
        }
        let stored: Stored
        do {
            stored = try decodeJSON(Stored.self, from: storedJSON)
        } catch {
            throw MireError(
                code: .undecodableEvent,
                message: "the metadata of event \(eventID) does not decode: \(describeDecodingFailure(error))",
                recovery: "store metadata as an object with optional UUID strings correlationID and causationID "
                    + "and an object of strings custom, or fix the row with SQL",
                underlying: error)
        }
        self.init(
            eventID: eventID, correlationID: stored.correlationID, causationID: stored.causationID,
            custom: stored.custom ?? [:])
    }
}
