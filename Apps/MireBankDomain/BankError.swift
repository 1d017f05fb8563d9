/// Why the bank refused a command: what happened, to which account, and what to do.
public enum BankError: Error, Equatable, CustomStringConvertible {
    case notFound(account: String)
    case alreadyExists(account: String)
    case closed(account: String)
    case insufficientFunds(account: String, balance: Money, requested: Money)
    case balanceNotZero(account: String, balance: Money)
    case invalidAmount(Money)
    case balanceOutOfRange(balance: Money, change: Money)
    case amountOutOfRange(Int64, times: Int64)
    case invalidOwner
    case sameAccount(String)
    case transferExists(String)
    case reservationsPending(account: String, amount: Money)

    public var description: String {
        switch self {
        case .notFound(let account):
            "account \(account) does not exist; open it first with `mire-bank open \(account) --owner NAME`"
        case .alreadyExists(let account):
            "account \(account) already exists; choose another id"
        case .closed(let account):
            "account \(account) is closed; no further operations are allowed on it"
        case .insufficientFunds(let account, let balance, let requested):
            "cannot take \(requested) from account \(account): its balance is \(balance); deposit first or use a smaller amount"
        case .balanceNotZero(let account, let balance):
            "cannot close account \(account) while it holds \(balance); withdraw or transfer it first"
        case .invalidAmount(let amount):
            "the amount must be greater than zero (got \(amount))"
        case .balanceOutOfRange(let balance, let change):
            "a change of \(change) to a balance of \(balance) would leave the range the bank can hold (±\(Money(cents: .max))); use a smaller amount"
        case .amountOutOfRange(let cents, let factor):
            "\(Money(cents: cents)) × \(factor) is more than the bank can hold (\(Money(cents: .max))); use smaller figures"
        case .invalidOwner:
            "the owner's name must not be empty"
        case .sameAccount(let account):
            "cannot transfer from account \(account) to itself"
        case .reservationsPending(let account, let amount):
            "cannot close account \(account) while \(amount) is reserved for transfers in flight; run the transfer saga first"
        case .transferExists(let id):
            "a transfer with id \(id) was requested already; `mire-bank saga status \(id)` shows how it went"
        }
    }
}
