import MirePostgres

/// How far a projection has got: every event up to ``cursor`` in `(transaction id, position)`
/// order was handled, plus the positions in ``deliveredAhead`` (handled early so that a stream's
/// versions arrive in order).
public struct Checkpoint: Sendable, Hashable {
    /// An event's place in delivery order.
    public struct Key: Sendable, Hashable, Comparable {
        /// The writing transaction's id.
        public var transactionID: UInt64
        /// The event's global position.
        public var position: Int64

        /// A key.
        public init(transactionID: UInt64, position: Int64) {
            self.transactionID = transactionID
            self.position = position
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.transactionID, lhs.position) < (rhs.transactionID, rhs.position)
        }

        /// Before every event.
        public static let start = Key(transactionID: 0, position: 0)
    }

    /// Everything at or before this key was handled.
    public var cursor: Key
    /// Positions after the cursor that were handled already.
    public var deliveredAhead: Set<Int64>

    /// A checkpoint.
    public init(cursor: Key = .start, deliveredAhead: Set<Int64> = []) {
        self.cursor = cursor
        self.deliveredAhead = deliveredAhead
    }

    /// Whether the event at `key` has been handled.
    public func hasHandled(_ key: Key) -> Bool {
        key <= cursor || deliveredAhead.contains(key.position)
    }
}

extension RawRecordedEvent {
    /// This event's place in delivery order.
    var key: Checkpoint.Key { Checkpoint.Key(transactionID: transactionID, position: position) }
}
