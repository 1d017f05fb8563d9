import ArgumentParser

/// An amount of money in integer cents, parsed from and printed as `12.34`.
struct Money: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByArgument, Comparable {
    var cents: Int64

    init(cents: Int64) { self.cents = cents }

    /// Parses `12`, `12.3` or `12.34` exactly (no floating point); nil for anything else.
    init?(argument: String) {
        let parts = argument.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int64(parts[0]), whole >= 0, !parts[0].hasPrefix("+") else {
            return nil
        }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...2).contains(digits.count), digits.allSatisfy(\.isNumber), let value = Int64(digits) else {
                return nil
            }
            fraction = digits.count == 1 ? value * 10 : value
        }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 100)
        guard !overflow else { return nil }
        cents = scaled + fraction
    }

    var description: String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static func < (lhs: Money, rhs: Money) -> Bool { lhs.cents < rhs.cents }
}
