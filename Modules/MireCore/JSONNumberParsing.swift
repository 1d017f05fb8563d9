internal import Foundation

/// Number parsing with JSONDecoder's results: strict JSON grammar, integers exact and
/// range-checked, floating point correctly rounded. All arithmetic is checked: no input traps.
enum JSONNumberParsing {
    /// Whether `text` is a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isValid(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = text.count
        if index < count, text[index] == UInt8(ascii: "-") { index += 1 }
        guard index < count, isDigit(text[index]) else { return false }
        if text[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < count, isDigit(text[index]) { index += 1 }
        }
        if index < count, text[index] == UInt8(ascii: ".") {
            index += 1
            guard index < count, isDigit(text[index]) else { return false }
            while index < count, isDigit(text[index]) { index += 1 }
        }
        if index < count, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            if index < count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") { index += 1 }
            guard index < count, isDigit(text[index]) else { return false }
            while index < count, isDigit(text[index]) { index += 1 }
        }
        return index == count
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// The integer `text` spells when it is only an optional `-` and digits without a leading
    /// zero, and fits `T`; otherwise `nil` (the caller falls back to the general rules).
    @inline(__always)
    static func plainInteger<T: FixedWidthInteger>(_ text: UnsafeBufferPointer<UInt8>) -> T? {
        var index = 0
        let count = text.count
        let negative = count > 0 && text[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < count else { return nil }
        if text[index] == UInt8(ascii: "0") && count - index > 1 { return nil }
        var result: T = 0
        while index < count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflowed) = result.multipliedReportingOverflow(by: 10)
            // Negative numbers accumulate downwards so that T.min parses.
            let (next, overflowedAgain) =
                negative
                ? shifted.subtractingReportingOverflow(T(truncatingIfNeeded: digit))
                : shifted.addingReportingOverflow(T(truncatingIfNeeded: digit))
            guard !overflowed, !overflowedAgain else { return nil }
            result = next
            index += 1
        }
        return result
    }

    /// The value of the valid JSON number `text` as `T`, with JSONDecoder's rules: exact integers
    /// directly; otherwise through the nearest `Double`, which must convert exactly (so `1.0` and
    /// `1e2` are integers and `1.5` or `300` for an `Int8` are errors); past 2⁵³, where doubles
    /// are too coarse, JSONDecoder's own Decimal-based conversion decides.
    @inline(__always)
    static func integer<T: FixedWidthInteger & Decodable>(_ text: UnsafeBufferPointer<UInt8>) -> T? {
        if let plain: T = plainInteger(text) { return plain }
        guard isValid(text) else { return nil }
        let double = self.double(text)
        guard let exact = T(exactly: double) else { return nil }
        if double.magnitude < 9_007_199_254_740_992 { return exact }
        return foundationFallback(T.self, text)
    }

    /// The valid JSON number `text` as a `Double`, correctly rounded (may be infinite or zero).
    static func double(_ text: UnsafeBufferPointer<UInt8>) -> Double {
        if let decimal = Significand(text), decimal.digits <= 19 {
            if decimal.significand == 0 { return decimal.negative ? -0.0 : 0 }
            // Both operands exact and one rounding: the correctly rounded result (Clinger).
            if decimal.significand <= 1 << 53, (-22...22).contains(decimal.exponent) {
                let value = Double(decimal.significand)
                let scaled =
                    decimal.exponent < 0
                    ? value / doublePowersOfTen[-decimal.exponent] : value * doublePowersOfTen[decimal.exponent]
                return decimal.negative ? -scaled : scaled
            }
        }
        return Double(String(decoding: text, as: UTF8.self)) ?? .nan
    }

    /// The valid JSON number `text` as a `Float`, correctly rounded (not via `Double`).
    static func float(_ text: UnsafeBufferPointer<UInt8>) -> Float {
        if let decimal = Significand(text), decimal.digits <= 19 {
            if decimal.significand == 0 { return decimal.negative ? -0.0 : 0 }
            if decimal.significand <= 1 << 24, (-10...10).contains(decimal.exponent) {
                let value = Float(decimal.significand)
                let scaled =
                    decimal.exponent < 0
                    ? value / floatPowersOfTen[-decimal.exponent] : value * floatPowersOfTen[decimal.exponent]
                return decimal.negative ? -scaled : scaled
            }
        }
        return Float(String(decoding: text, as: UTF8.self)) ?? .nan
    }

    /// Whether JSONDecoder takes a number that parsed as a floating-point zero for a true zero
    /// (it refuses non-zero numbers that round to zero, like `1e-400`).
    ///
    /// Its check reads four bytes at a time in order, but the last one to three bytes backwards:
    /// for `0e1` it meets the `1` before the `e` and refuses the number. Mirrored exactly.
    static func isTrueZero(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        func check(_ byte: UInt8) -> Bool? {
            if byte >= UInt8(ascii: "1") && byte <= UInt8(ascii: "9") { return false }
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return true }
            return nil
        }
        let whole = text.count - text.count % 4
        for byte in text[0..<whole] {
            if let result = check(byte) { return result }
        }
        for byte in text[whole...].reversed() {
            if let result = check(byte) { return result }
        }
        return true
    }

    /// Integers past 2⁵³ written with a fraction or exponent (`9007199254740993.0`, `1e19`):
    /// JSONDecoder converts them through Decimal, so it decodes the number itself. Rare.
    private static func foundationFallback<T: FixedWidthInteger & Decodable>(
        _ type: T.Type, _ text: UnsafeBufferPointer<UInt8>
    ) -> T? {
        try? JSONFallback.decoder.decode(T.self, from: Data(text))
    }

    /// A valid JSON number as significand × 10^exponent; `digits` counts significant digits
    /// (past 19 the significand is not exact and the fast paths are not taken).
    private struct Significand {
        var significand: UInt64 = 0
        var exponent = 0
        var digits = 0
        var negative = false

        init?(_ text: UnsafeBufferPointer<UInt8>) {
            var index = 0
            let count = text.count
            if index < count, text[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            var fractionDigits = 0
            var inFraction = false
            while index < count {
                let byte = text[index]
                if byte == UInt8(ascii: ".") {
                    inFraction = true
                } else if isDigit(byte) {
                    if significand != 0 || byte != UInt8(ascii: "0") {
                        digits += 1
                        if digits <= 19 { significand = significand &* 10 &+ UInt64(byte &- UInt8(ascii: "0")) }
                    }
                    if inFraction {
                        fractionDigits += 1
                    } else if digits > 19 {
                        return nil
                    }
                } else {
                    break
                }
                index += 1
            }
            if digits > 19 { return nil }
            var written = 0
            if index < count {  // e or E
                index += 1
                var exponentNegative = false
                if index < count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                    exponentNegative = text[index] == UInt8(ascii: "-")
                    index += 1
                }
                while index < count {
                    guard written < 100_000 else { return nil }  // far outside any fast path
                    written = written * 10 + Int(text[index] &- UInt8(ascii: "0"))
                    index += 1
                }
                if exponentNegative { written = -written }
            }
            exponent = written - fractionDigits
        }
    }

    private static let doublePowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    private static let floatPowersOfTen: [Float] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]
}

/// The Foundation decoder used for the rare values decoded exactly as JSONDecoder does by
/// JSONDecoder itself (Decimal, huge integers written with a fraction, UTF-16/32 documents).
enum JSONFallback {
    static let decoder = JSONDecoder()
}
