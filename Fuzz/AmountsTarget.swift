// libFuzzer target: the bank's amount parser over any text a user can type. Parsing must end in
// an amount or nil, never a trap; an amount prints as text that parses back to it; the checked
// sum and product of two amounts are exact or refused. Built by Fuzz/run.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    let halves = text.split(separator: " ", maxSplits: 1).map(String.init)
    guard let money = Money(argument: halves.first ?? text) else { return 0 }
    precondition(money.cents >= 0, "a parsed amount is negative")
    precondition(Money(argument: money.description) == money, "\(money) does not parse back")
    if halves.count == 2, let other = Money(argument: halves[1]) {
        let (sum, overflow) = money.cents.addingReportingOverflow(other.cents)
        precondition((try? Money.sum(money.cents, other.cents)) == (overflow ? nil : sum), "checked sum")
        let (product, productOverflow) = money.cents.multipliedReportingOverflow(by: other.cents)
        precondition(
            (try? Money.product(money.cents, other.cents)) == (productOverflow ? nil : product), "checked product")
    }
    return 0
}
