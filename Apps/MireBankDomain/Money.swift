/// An amount of money in integer cents, parsed from and printed as `12.34`.
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public var cents: Int64

    public init(cents: Int64) { self.cents = cents }

    /// Parses `12`, `12.3` or `12.34` exactly (no floating point); nil for anything else.
    public init?(argument: String) {
        let parts = argument.split(separator: ".", omittingEmptySubsequences: false)
        // Digits only: Int64("-0") is 0, and "-0.50" must not become 0.50.
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
            let whole = Int64(parts[0])
        else {
            return nil
        }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...2).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int64(digits)
            else {
                return nil
            }
            fraction = digits.count == 1 ? value * 10 : value
        }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 100)
        let (total, overflowAgain) = scaled.addingReportingOverflow(fraction)
        guard !overflow, !overflowAgain else { return nil }
        cents = total
    }

    /// `a + b` cents; refused when no `Int64` holds the result.
    public static func sum(_ a: Int64, _ b: Int64) throws(BankError) -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw .balanceOutOfRange(balance: Money(cents: a), change: Money(cents: b)) }
        return result
    }

    /// `a × b` cents; refused when no `Int64` holds the result.
    public static func product(_ a: Int64, _ b: Int64) throws(BankError) -> Int64 {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw .amountOutOfRange(a, times: b) }
        return result
    }

    public var description: String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.cents < rhs.cents }
}
