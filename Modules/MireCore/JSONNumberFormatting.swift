/// Numbers written as JSONEncoder writes them: integers in decimal; floating point as Swift's
/// `description` (the shortest text that reads back as the same value: `0.1`, `1e-05`,
/// `1.7976931348623157e+308`) without a trailing `.0`, so `1.0` is `1` and `-0.0` is `-0`.
/// Callers refuse NaN and infinities first; nothing here traps, whatever the value.
enum JSONNumberFormatting {
    /// Appends `value` in decimal.
    ///
    /// ```swift
    /// var bytes = JSONOutputBuffer(capacity: 64)
    /// JSONNumberFormatting.appendInteger(Int64.min, to: &bytes)  // -9223372036854775808
    /// ```
    @inline(__always)
    static func appendInteger<I: FixedWidthInteger>(_ value: I, to bytes: inout JSONOutputBuffer) {
        if I.bitWidth <= 64 {
            if I.isSigned {
                let wide = Int64(truncatingIfNeeded: value)
                appendDecimal(wide.magnitude, negative: wide < 0, to: &bytes)
            } else {
                appendDecimal(UInt64(truncatingIfNeeded: value), negative: false, to: &bytes)
            }
        } else {
            // Int128 and UInt128: rare, and their description is JSONEncoder's text.
            bytes.append(value.description)
        }
    }

    /// Appends `magnitude` in decimal, after a `-` when `negative`.
    static func appendDecimal(_ magnitude: UInt64, negative: Bool, to bytes: inout JSONOutputBuffer) {
        if negative { bytes.append(UInt8(ascii: "-")) }
        if magnitude < 10 {
            bytes.append(UInt8(truncatingIfNeeded: magnitude) &+ UInt8(ascii: "0"))
            return
        }
        // UInt64.max has 20 digits.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var index = digits.count
            var rest = magnitude
            while rest != 0, index > 0 {
                let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: 10)
                index -= 1
                digits[index] = UInt8(truncatingIfNeeded: remainder) &+ UInt8(ascii: "0")
                rest = quotient
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: UnsafeBufferPointer(digits)[index...]))
        }
    }

    /// Appends a finite `Double` as JSONEncoder does.
    ///
    /// ```swift
    /// var bytes = JSONOutputBuffer(capacity: 64)
    /// JSONNumberFormatting.appendDouble(1.0, to: &bytes)  // 1
    /// ```
    @inline(__always)
    static func appendDouble(_ value: Double, to bytes: inout JSONOutputBuffer) {
        // Swift writes integral values up to 2^53 as digits and ".0", which JSONEncoder drops;
        // past 2^53 it switches to an exponent (9007199254740994 is 9.007199254740994e+15).
        let magnitude = value.magnitude
        if magnitude <= 9_007_199_254_740_992, magnitude.rounded(.towardZero) == magnitude {
            appendIntegral(UInt64(magnitude), negative: value.sign == .minus, to: &bytes)
        } else {
            appendDescription(value, to: &bytes)
        }
    }

    /// Appends a finite `Float` as JSONEncoder does (its own shortest text, not the Double's:
    /// `Float(0.1)` is `0.1`).
    @inline(__always)
    static func appendFloat(_ value: Float, to bytes: inout JSONOutputBuffer) {
        // Float's description switches to an exponent past 2^24.
        let magnitude = value.magnitude
        if magnitude <= 16_777_216, magnitude.rounded(.towardZero) == magnitude {
            appendIntegral(UInt64(magnitude), negative: value.sign == .minus, to: &bytes)
        } else {
            appendDescription(value, to: &bytes)
        }
    }

    /// An integral value's digits; zero keeps its sign (`-0`), as in JSONEncoder.
    @inline(__always)
    private static func appendIntegral(_ magnitude: UInt64, negative: Bool, to bytes: inout JSONOutputBuffer) {
        appendDecimal(magnitude, negative: negative, to: &bytes)
    }

    /// Swift's own text for `value`, copied straight into the bytes (the standard library
    /// hands its digits to `_writeASCII`: no String is made), then JSONEncoder's rule: a
    /// trailing `.0` is dropped.
    private static func appendDescription<F: BinaryFloatingPoint & TextOutputStreamable>(
        _ value: F, to bytes: inout JSONOutputBuffer
    ) {
        var text = JSONFloatText()
        value.write(to: &text)
        guard !text.overflowed else {
            // Never for Float or Double (at most 24 characters); kept for safety.
            var description = "\(value)"
            if description.hasSuffix(".0") { description.removeLast(2) }
            bytes.append(description)
            return
        }
        text.withBytes { text in
            var count = text.count
            if count >= 2, text[count - 2] == UInt8(ascii: "."), text[count - 1] == UInt8(ascii: "0") { count -= 2 }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<count]))
        }
    }
}

/// A `TextOutputStream` into 32 bytes of its own: floating-point values write their digits
/// into it without building a String.
struct JSONFloatText: TextOutputStream {
    private var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var count = 0
    /// More text came than fits; the text is then incomplete.
    private(set) var overflowed = false

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { append($0) }
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { append(buffer) }

    private mutating func append(_ buffer: UnsafeBufferPointer<UInt8>) {
        let room = MemoryLayout.size(ofValue: storage) - count
        guard buffer.count <= room else {
            overflowed = true
            return
        }
        let start = count
        withUnsafeMutableBytes(of: &storage) { raw in
            for (offset, byte) in buffer.enumerated() { raw[start + offset] = byte }
        }
        count += buffer.count
    }

    /// Runs `body` over the text.
    func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        withUnsafeBytes(of: storage) { raw in
            body(UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[0..<count]))
        }
    }
}
