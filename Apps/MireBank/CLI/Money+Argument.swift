public import ArgumentParser
public import MireBankDomain

/// Amounts as command-line arguments: `Money(argument:)` parses them (it holds no
/// ArgumentParser code, so the fuzz target can build it alone).
extension Money: ExpressibleByArgument {
    /// What an amount looks like, for a refused `text`.
    static func invalidMessage(_ text: String) -> String {
        "'\(text)' is not an amount: amounts are positive numbers of at most \(Money(cents: .max)) with up to two decimals, such as 12 or 12.50"
    }

    /// The parser of amount arguments: `Money(argument:)`, with a message that says what an
    /// amount looks like.
    static func parse(_ text: String) throws -> Money {
        guard let money = Money(argument: text), money.cents > 0 else {
            throw ValidationError(
                "amounts are positive numbers of at most \(Money(cents: .max)) with up to two decimals, such as 12 or 12.50"
            )
        }
        return money
    }
}
