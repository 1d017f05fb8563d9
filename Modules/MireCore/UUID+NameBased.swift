public import Foundation

extension UUID {
    /// A name-based id (RFC 9562 version 5): the same namespace and name give the same id in
    /// every process, on every run. A reaction derives the ids of the events it produces from
    /// the id of the event that triggered it this way, so running it again after a crash
    /// produces the same ids, and the store's idempotency absorbs them.
    ///
    /// ```swift
    /// let id = UUID(name: "transfer-saga/0/1", in: trigger.metadata.eventID)
    /// ```
    public init(name: String, in namespace: UUID) {
        var message = withUnsafeBytes(of: namespace.uuid) { Array($0) }
        message.append(contentsOf: name.utf8)
        var bytes = Array(SHA1.digest(of: message).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // version 5
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        self = bytes.withUnsafeBytes { UUID(uuid: $0.load(as: uuid_t.self)) }
    }
}
