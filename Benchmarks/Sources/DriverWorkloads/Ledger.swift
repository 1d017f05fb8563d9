public import MireMacros
public import MirePostgres

/// The events of the benchmarks' aggregate, with a generated decoder (`@MireEvent`), as the
/// bank's are.
@MireEvent
public enum LedgerEvent: Codable, Sendable {
    case deposited(amount: Int64)
}

/// The aggregate the store, snapshot-free load and projection benchmarks write and read:
/// streams `ledger-<id>` of `ledger.deposited` events.
public struct Ledger: Aggregate {
    public static let category = "ledger"
    public var total: Int64 = 0

    public init() {}

    public mutating func apply(_ event: LedgerEvent) {
        if case .deposited(let amount) = event { total += amount }
    }
}
