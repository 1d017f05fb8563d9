import Foundation

/// The middle value of `values` (the upper one of an even count).
public func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// Rounds of Mire beside raw, taken alternately so that each ratio compares measurements taken
/// seconds apart (this machine drifts by ±15% within minutes).
public struct RoundRatios: Sendable {
    /// Mire's figure in each round.
    public var mire: [Double] = []
    /// The raw side's figure in each round.
    public var raw: [Double] = []

    /// No rounds yet.
    public init() {}

    /// The median of the rounds' ratios.
    public var ratio: Double { median(zip(mire, raw).map { $0 / $1 }) }

    /// Prints `label | Mire median | raw median | ratio`, then each round's figures.
    ///
    /// ```swift
    /// var rounds = RoundRatios()
    /// rounds.mire.append(mireRate); rounds.raw.append(rawRate)
    /// rounds.print(label: clients)
    /// ```
    public func print(label: Int) {
        Swift.print(String(format: "%7d %8.0f %8.0f %9.2f", label, median(mire), median(raw), ratio))
        Swift.print(
            "         rounds: Mire " + mire.map { String(format: "%.0f", $0) }.joined(separator: "/") + ", raw "
                + raw.map { String(format: "%.0f", $0) }.joined(separator: "/"))
    }
}
