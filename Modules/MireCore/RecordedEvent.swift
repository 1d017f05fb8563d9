public import Foundation

/// An event as stored in the log, payload still JSON.
///
/// ```swift
/// for event in try await store.readCategory("account", after: 0, limit: 100) {
///     print(event.position, event.stream, event.version, event.type)
/// }
/// ```
public struct RawRecordedEvent: Sendable, Hashable {
    /// The global position in the log (unique, increasing in insertion order).
    public var position: Int64
    /// The id of the transaction that wrote it (`xid8`).
    public var transactionID: UInt64
    /// The stream it belongs to.
    public var stream: StreamID
    /// Its version within the stream, 1…n.
    public var version: Int64
    /// Its stored type name, e.g. `account.deposited`.
    public var type: String
    /// The payload, JSON.
    public var payload: Data
    /// Its metadata (including the event id).
    public var metadata: EventMetadata
    /// When it was stored (server clock).
    public var recordedAt: Date

    /// An event as read from the log.
    public init(
        position: Int64, transactionID: UInt64, stream: StreamID, version: Int64, type: String, payload: Data,
        metadata: EventMetadata, recordedAt: Date
    ) {
        self.position = position
        self.transactionID = transactionID
        self.stream = stream
        self.version = version
        self.type = type
        self.payload = payload
        self.metadata = metadata
        self.recordedAt = recordedAt
    }
}

/// An event as stored in the log, decoded into the aggregate's event type.
///
/// ```swift
/// for recorded in try await store.history(Account.self, id: "acc-1") {
///     print(recorded.version, recorded.event, recorded.recordedAt)
/// }
/// ```
public struct RecordedEvent<Event: Sendable>: Sendable {
    /// The decoded event.
    public var event: Event
    /// Where and when it was stored.
    public var raw: RawRecordedEvent

    /// A decoded event with its stored form.
    public init(event: Event, raw: RawRecordedEvent) {
        self.event = event
        self.raw = raw
    }

    /// The global position in the log.
    public var position: Int64 { raw.position }
    /// The version within the stream.
    public var version: Int64 { raw.version }
    /// The stored type name.
    public var type: String { raw.type }
    /// The stream.
    public var stream: StreamID { raw.stream }
    /// The metadata.
    public var metadata: EventMetadata { raw.metadata }
    /// When it was stored.
    public var recordedAt: Date { raw.recordedAt }
}
