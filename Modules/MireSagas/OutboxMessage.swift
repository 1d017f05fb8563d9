public import Foundation
@_spi(Internals) import MireCore

/// A message for a system outside PostgreSQL (an email service, a webhook, a broker), written to
/// the outbox in the transaction whose events cause it, and delivered at least once by an
/// ``OutboxWorker``.
///
/// The key is stable per message: enqueuing the same key again keeps the first message, and the
/// receiver deduplicates deliveries by it (a message may be delivered more than once: a worker
/// may stop after the receiver got it and before the outbox heard).
///
/// ```swift
/// let message = try OutboxMessage(topic: "large-withdrawal", key: "withdrawal-\(eventID)", json: alert)
/// ```
public struct OutboxMessage: Sendable, Hashable {
    /// What kind of message, for routing (a worker may deliver some topics only).
    public var topic: String
    /// The deduplication key: the same for every delivery of this message, and unique among
    /// messages.
    public var key: String
    /// The body, a JSON document.
    public var payload: Data

    /// A message whose body is the JSON document `payload`.
    public init(topic: String, key: String, payload: Data) {
        self.topic = topic
        self.key = key
        self.payload = payload
    }

    /// A message whose body is `json`, encoded.
    public init(topic: String, key: String, json: some Encodable) throws {
        self.init(topic: topic, key: key, payload: try encodeJSON(json))
    }
}

/// One delivery of an outbox message, as a worker hands it to the deliverer.
///
/// ```swift
/// let worker = OutboxWorker(store: store, configuration: .init(workerID: "w1"), logger: logger) { delivery in
///     try await webhook.post(delivery.message.payload, idempotencyKey: delivery.message.key)
/// }
/// ```
public struct OutboxDelivery: Sendable, Hashable {
    /// The message.
    public var message: OutboxMessage
    /// Which attempt this is, from 1.
    public var attempt: Int
    /// The message's row in `mire_outbox`.
    public var id: Int64
}

/// Thrown by a deliverer for a message that no retry can deliver (the receiver refused it for
/// good): the message becomes a dead letter at once instead of being retried.
///
/// ```swift
/// if response.status == .badRequest { throw UndeliverableMessage(reason: "refused: \(response.status)") }
/// ```
public struct UndeliverableMessage: Error, Sendable, CustomStringConvertible {
    /// Why, as recorded with the dead letter.
    public var reason: String

    /// An undeliverable message, for `reason`.
    public init(reason: String) { self.reason = reason }

    public var description: String { "undeliverable: \(reason)" }
}
