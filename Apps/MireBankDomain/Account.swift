public import Foundation
public import MireMacros
public import MireSnapshots

/// Everything that can happen to a bank account. Amounts are integer cents: exact, never floating point.
/// `@MireEvent` gives it a generated decoder: loads skip `Codable`'s keyed containers.
@MireEvent
public enum AccountEvent: Codable, Sendable, Equatable {
    case opened(owner: String)
    case deposited(amount: Int64)
    case withdrawn(amount: Int64)
    case transferredOut(amount: Int64, to: String)
    case transferredIn(amount: Int64, from: String)
    case closed
}

/// A bank account: the fold of its events. Its state is `Codable`, so it can be snapshotted.
public struct Account: SnapshottableAggregate, Equatable {
    public static let category = "account"
    /// Bump when the state's shape changes: older snapshots are then ignored.
    public static let snapshotSchemaVersion = 1

    public var owner = ""
    public var balance: Int64 = 0
    public var isOpen = false
    public var isClosed = false

    /// A new account, before it is opened.
    public init() {}

    public mutating func apply(_ event: AccountEvent) {
        switch event {
        case .opened(let owner):
            self.owner = owner
            isOpen = true
        case .deposited, .withdrawn, .transferredOut, .transferredIn:
            // checkApplicable(_:) has accepted the event (replay and every command check it first);
            // should anything skip it, the balance stays as it was rather than trapping.
            if let next = try? balance(after: event) {
                balance = next
            } else {
                assertionFailure("\(event) was recorded without checkApplicable(_:)")
            }
        case .closed:
            isOpen = false
            isClosed = true
        }
    }

    /// Refuses an event whose amount is not positive or would take the balance past what
    /// `Int64` cents hold: a stored one fails the load with a typed error, a new one the command.
    public func checkApplicable(_ event: AccountEvent) throws(BankError) {
        _ = try balance(after: event)
    }

    /// The balance once `event` is applied, checked.
    private func balance(after event: AccountEvent) throws(BankError) -> Int64 {
        let change: Int64
        switch event {
        case .opened, .closed: return balance
        case .deposited(let amount), .transferredIn(let amount, _):
            guard amount > 0 else { throw .invalidAmount(Money(cents: amount)) }
            change = amount
        case .withdrawn(let amount), .transferredOut(let amount, _):
            guard amount > 0 else { throw .invalidAmount(Money(cents: amount)) }
            change = -amount
        }
        return try Money.sum(balance, change)
    }
}

/// Commands: each validates against the current state, then records. An invalid command throws
/// and records nothing, so it never reaches the log.
extension AggregateRoot where State == Account {
    public mutating func open(owner: String) throws(BankError) {
        guard isNew else { throw .alreadyExists(account: entityID) }
        let owner = owner.trimmingCharacters(in: .whitespaces)
        guard !owner.isEmpty else { throw .invalidOwner }
        record(.opened(owner: owner))
    }

    /// Deposits `amount`; `command` (the request's id) is kept as the event's correlation id.
    public mutating func deposit(_ amount: Money, command: UUID? = nil) throws(BankError) {
        try requireOpen()
        guard amount.cents > 0 else { throw .invalidAmount(amount) }
        try state.checkApplicable(.deposited(amount: amount.cents))
        record(.deposited(amount: amount.cents), metadata: EventMetadata(correlationID: command))
    }

    public mutating func withdraw(_ amount: Money) throws(BankError) {
        try requireOpen()
        guard amount.cents > 0 else { throw .invalidAmount(amount) }
        guard amount.cents <= state.balance else {
            throw .insufficientFunds(account: entityID, balance: Money(cents: state.balance), requested: amount)
        }
        try state.checkApplicable(.withdrawn(amount: amount.cents))
        record(.withdrawn(amount: amount.cents))
    }

    /// The sending half of a transfer: validated like a withdrawal.
    public mutating func send(_ amount: Money, to other: String, command: UUID? = nil) throws(BankError) {
        try requireOpen()
        guard amount.cents > 0 else { throw .invalidAmount(amount) }
        guard amount.cents <= state.balance else {
            throw .insufficientFunds(account: entityID, balance: Money(cents: state.balance), requested: amount)
        }
        try state.checkApplicable(.transferredOut(amount: amount.cents, to: other))
        record(.transferredOut(amount: amount.cents, to: other), metadata: EventMetadata(correlationID: command))
    }

    /// The receiving half of a transfer.
    public mutating func receive(_ amount: Money, from other: String, command: UUID? = nil) throws(BankError) {
        try requireOpen()
        try state.checkApplicable(.transferredIn(amount: amount.cents, from: other))
        record(.transferredIn(amount: amount.cents, from: other), metadata: EventMetadata(correlationID: command))
    }

    public mutating func close() throws(BankError) {
        try requireOpen()
        guard state.balance == 0 else { throw .balanceNotZero(account: entityID, balance: Money(cents: state.balance)) }
        record(.closed)
    }

    public func requireOpen() throws(BankError) {
        if state.isClosed { throw .closed(account: entityID) }
        guard state.isOpen else { throw .notFound(account: entityID) }
    }
}
