public import Foundation
public import MireCore

/// What can happen to a transfer run as a saga.
public enum TransferOrderEvent: Codable, Sendable, Equatable {
    case requested(from: String, to: String, amount: Int64)
    case completed
    case failed(reason: String)
    /// The receipt was sent (a deadline after completion).
    case receiptIssued
}

/// A transfer that moves money in steps (reserve on the source, credit the destination, then
/// complete; or return the money and fail), driven by ``TransferSaga``, without one transaction
/// over both accounts. Its stream is the transfer's record: requested, then completed or failed.
public struct TransferOrder: Aggregate, Equatable {
    public static let category = "transfer"

    public enum Status: String, Sendable, Codable {
        case none, requested, completed, failed
    }

    public var status = Status.none
    public var from = ""
    public var to = ""
    public var amount: Int64 = 0
    public var failure: String?
    public var receipts = 0

    public init() {}

    public mutating func apply(_ event: TransferOrderEvent) {
        switch event {
        case .requested(let from, let to, let amount):
            (self.from, self.to, self.amount, status) = (from, to, amount, .requested)
        case .completed: status = .completed
        case .failed(let reason):
            status = .failed
            failure = reason
        case .receiptIssued: receipts += 1
        }
    }
}

extension AggregateRoot where State == TransferOrder {
    /// Requests the transfer; the saga takes it from there.
    public mutating func request(_ amount: Money, from source: String, to destination: String) throws(BankError) {
        guard isNew else { throw .transferExists(entityID) }
        guard source != destination else { throw .sameAccount(source) }
        guard amount.cents > 0 else { throw .invalidAmount(amount) }
        record(.requested(from: source, to: destination, amount: amount.cents))
    }
}
