import Foundation
import MireCore

/// The test domain: a small bank account.
enum AccountEvent: Codable, Sendable, Equatable {
    case opened(owner: String)
    case deposited(amount: Int64)
    case withdrawn(amount: Int64)
    case renamedOwner(String)
    case closed
}

struct Account: Aggregate, Equatable {
    static let category = "account"
    /// `renamedOwner` is pinned to a name that differs from its case name.
    static let eventTypeNames = ["renamedOwner": "account.owner-changed-v1"]
    static let upcasters: [EventUpcaster] = [
        .rename("account.credited", to: "account.deposited"),
        EventUpcaster(from: "account.debited-cents", to: "account.withdrawn") { payload in
            var object = try EventUpcaster.jsonObject(payload)
            object["amount"] = object.removeValue(forKey: "cents")
            return try EventUpcaster.jsonData(object)
        },
    ]

    var owner = ""
    var balance: Int64 = 0
    var isOpen = false
    var eventCount = 0

    mutating func apply(_ event: AccountEvent) {
        eventCount += 1
        switch event {
        case .opened(let owner):
            self.owner = owner
            isOpen = true
        case .deposited(let amount): balance += amount
        case .withdrawn(let amount): balance -= amount
        case .renamedOwner(let owner): self.owner = owner
        case .closed: isOpen = false
        }
    }
}

struct InsufficientFunds: Error {}

extension AggregateRoot where State == Account {
    mutating func open(owner: String) { record(.opened(owner: owner)) }
    mutating func deposit(_ amount: Int64) { record(.deposited(amount: amount)) }
    mutating func withdraw(_ amount: Int64) throws {
        guard amount <= state.balance else { throw InsufficientFunds() }
        record(.withdrawn(amount: amount))
    }
}

/// The account's events without upcasters: loads decode its rows straight from their bytes
/// (`Account`'s upcasters send it through the String/Data path).
struct Wallet: Aggregate, Equatable {
    static let category = "wallet"
    static let eventTypeNames = ["renamedOwner": "wallet.owner-changed-v1"]

    var owner = ""
    var balance: Int64 = 0
    var eventCount = 0

    mutating func apply(_ event: AccountEvent) {
        eventCount += 1
        switch event {
        case .opened(let owner), .renamedOwner(let owner): self.owner = owner
        case .deposited(let amount): balance += amount
        case .withdrawn(let amount): balance -= amount
        case .closed: break
        }
    }
}
