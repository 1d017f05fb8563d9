public import Foundation

/// A ready-made event to append to a stream without an aggregate.
///
/// ```swift
/// let event = try NewEvent(Account.self, .deposited(amount: 10))
/// try await store.append([event], to: StreamID(category: "account", id: "acc-1"), expecting: .any)
/// ```
public struct NewEvent: Sendable, Hashable {
    /// The stored type name, e.g. `account.deposited`.
    public var type: String
    /// The payload: UTF-8 JSON.
    public var payload: Data
    /// Its metadata, including the event id.
    public var metadata: EventMetadata

    /// An event from a type name and a JSON payload.
    public init(type: String, payload: Data, metadata: EventMetadata = EventMetadata()) {
        self.type = type
        self.payload = payload
        self.metadata = metadata
    }

    /// An aggregate's event, encoded with the aggregate's codec.
    public init<A: Aggregate>(_ aggregate: A.Type, _ event: A.Event, metadata: EventMetadata = EventMetadata())
        throws(MireError)
    {
        let (type, payload) = try EventCodec<A>().encode(event)
        self.init(type: type, payload: payload, metadata: metadata)
    }
}

/// What a save or append stored.
///
/// ```swift
/// let result = try await store.save(&account)
/// print(result.version, result.positions)
/// ```
public struct AppendResult: Sendable, Hashable {
    /// The stream.
    public var stream: StreamID
    /// The stream's version after the append.
    public var version: Int64
    /// The global positions of the appended events, in order.
    public var positions: [Int64]
    /// True when every event was already stored by an earlier attempt of this same save
    /// (an idempotent retry): nothing was written this time.
    public var wasAlreadyStored: Bool
    /// The id of the last event appended (the one at ``positions``' last position); nil when
    /// nothing was appended, or the store does not say.
    public var lastEventID: UUID?

    /// A result, as the store reports it.
    public init(
        stream: StreamID, version: Int64, positions: [Int64], wasAlreadyStored: Bool, lastEventID: UUID? = nil
    ) {
        self.stream = stream
        self.version = version
        self.positions = positions
        self.wasAlreadyStored = wasAlreadyStored
        self.lastEventID = lastEventID
    }
}

/// Whether a stream exists and its version.
public struct StreamInfo: Sendable, Hashable, Codable {
    /// The stream.
    public var stream: StreamID
    /// Its version (number of events); 0 when it does not exist.
    public var version: Int64
    /// Whether it exists.
    public var exists: Bool { version > 0 }

    /// Stream information.
    public init(stream: StreamID, version: Int64) {
        self.stream = stream
        self.version = version
    }
}
