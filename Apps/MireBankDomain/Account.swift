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
    /// A saga transfer's first step: the money leaves the balance, held for `transfer` to `to`.
    case reserved(amount: Int64, transfer: String, to: String)
    /// A saga transfer's compensation: the money held for `transfer` comes back.
    case reservationReleased(amount: Int64, transfer: String)
    /// A saga transfer's confirmation: the money held for `transfer` reached the destination.
    case reservationConfirmed(amount: Int64, transfer: String)
    /// A saga transfer's money arrives from `from`.
    case credited(amount: Int64, transfer: String, from: String)
    /// A saga transfer step this account refused (no money moves).
    case transferRefused(transfer: String, reason: String)
    case closed
}

/// A bank account: the fold of its events. Its state is `Codable`, so it can be snapshotted.
public struct Account: SnapshottableAggregate, Equatable {
    public static let category = "account"
    /// Bump when the state's shape changes: older snapshots are then ignored.
    public static let snapshotSchemaVersion = 2

    public var owner = ""
    public var balance: Int64 = 0
    public var isOpen = false
    public var isClosed = false
    /// Money reserved for saga transfers in flight (already out of ``balance``); an account
    /// cannot close while any is.
    public var reserved: Int64 = 0

    /// A new account, before it is opened.
    public init() {}

    public mutating func apply(_ event: AccountEvent) {
        switch event {
        case .opened(let owner):
            self.owner = owner
            isOpen = true
        case .deposited, .withdrawn, .transferredOut, .transferredIn, .reserved, .reservationReleased, .credited:
            // checkApplicable(_:) has accepted the event (replay and every command check it first);
            // should anything skip it, the balance stays as it was rather than trapping.
            if let next = try? balance(after: event) {
                balance = next
                if case .reserved(let amount, _, _) = event { reserved += amount }
                if case .reservationReleased(let amount, _) = event { reserved -= amount }
            } else {
                assertionFailure("\(event) was recorded without checkApplicable(_:)")
            }
        case .transferRefused: break
        case .reservationConfirmed(let amount, _): reserved -= amount
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
        case .opened, .closed, .transferRefused, .reservationConfirmed: return balance
        case .deposited(let amount), .transferredIn(let amount, _), .reservationReleased(let amount, _),
            .credited(let amount, _, _):
            guard amount > 0 else { throw .invalidAmount(Money(cents: amount)) }
            change = amount
        case .withdrawn(let amount), .transferredOut(let amount, _), .reserved(let amount, _, _):
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

    /// A saga transfer's first step: sets `amount` aside for `transfer`, or records why not
    /// (closed, insufficient funds). Business refusals are events, not errors: the transfer saga
    /// reacts to them.
    public mutating func reserve(_ amount: Money, for transfer: String, to other: String) {
        do {
            try requireOpen()
            guard amount.cents > 0 else { throw BankError.invalidAmount(amount) }
            guard amount.cents <= state.balance else {
                throw BankError.insufficientFunds(
                    account: entityID, balance: Money(cents: state.balance), requested: amount)
            }
            try state.checkApplicable(.reserved(amount: amount.cents, transfer: transfer, to: other))
            record(.reserved(amount: amount.cents, transfer: transfer, to: other))
        } catch {
            record(.transferRefused(transfer: transfer, reason: "\(error)"))
        }
    }

    /// A saga transfer's credit: `amount` arrives from `other`, or the refusal is recorded.
    public mutating func credit(_ amount: Money, for transfer: String, from other: String) {
        do {
            try requireOpen()
            try state.checkApplicable(.credited(amount: amount.cents, transfer: transfer, from: other))
            record(.credited(amount: amount.cents, transfer: transfer, from: other))
        } catch {
            record(.transferRefused(transfer: transfer, reason: "\(error)"))
        }
    }

    /// A saga transfer's compensation: the money reserved for `transfer` comes back (allowed on
    /// a closed account too: it was this account's money).
    public mutating func releaseReservation(_ amount: Money, for transfer: String) throws(BankError) {
        try state.checkApplicable(.reservationReleased(amount: amount.cents, transfer: transfer))
        record(.reservationReleased(amount: amount.cents, transfer: transfer))
    }

    /// A saga transfer's confirmation: the money reserved for `transfer` has reached the
    /// destination.
    public mutating func confirmReservation(_ amount: Money, for transfer: String) {
        record(.reservationConfirmed(amount: amount.cents, transfer: transfer))
    }

    public mutating func close() throws(BankError) {
        try requireOpen()
        guard state.balance == 0 else { throw .balanceNotZero(account: entityID, balance: Money(cents: state.balance)) }
        guard state.reserved == 0 else {
            throw .reservationsPending(account: entityID, amount: Money(cents: state.reserved))
        }
        record(.closed)
    }

    public func requireOpen() throws(BankError) {
        if state.isClosed { throw .closed(account: entityID) }
        guard state.isOpen else { throw .notFound(account: entityID) }
    }
}
