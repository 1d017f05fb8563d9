/// Strings written as JSONEncoder writes them under its default options: UTF-8 as it is, with
/// `"` `\` and `/` escaped (`\/`: JSONEncoder escapes slashes unless `.withoutEscapingSlashes`),
/// the short escapes `\b \f \n \r \t`, and other control characters as `\u00XX` in lowercase
/// hex. DEL and everything past ASCII are written unescaped, as JSONEncoder does.
enum JSONStringEscaping {
    /// Appends `string` in quotes, escaped.
    ///
    /// ```swift
    /// var bytes = JSONOutputBuffer(capacity: 64)
    /// JSONStringEscaping.appendQuoted("a/b", to: &bytes)  // "a\/b"
    /// ```
    @inline(__always)
    static func appendQuoted(_ string: String, to bytes: inout JSONOutputBuffer) {
        bytes.append(quote)
        var string = string
        // Native strings hand out their UTF-8 at no cost; bridged ones are made native once.
        string.withUTF8 { appendEscaped($0, to: &bytes) }
        bytes.append(quote)
    }

    /// Appends the UTF-8 text `utf8`, escaped, without quotes.
    static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout JSONOutputBuffer) {
        guard let base = utf8.baseAddress else { return }
        let count = utf8.count
        var mark = 0
        var index = nextEscape(base, 0, count)
        while index < count {
            if index > mark { bytes.append(contentsOf: UnsafeBufferPointer(start: base + mark, count: index - mark)) }
            appendEscape(for: base[index], to: &bytes)
            index += 1
            mark = index
            index = nextEscape(base, index, count)
        }
        if count > mark { bytes.append(contentsOf: UnsafeBufferPointer(start: base + mark, count: count - mark)) }
    }

    /// Whether JSONEncoder escapes `byte`.
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == quote || byte == backslash || byte == slash
    }

    /// The offset of the first byte at or after `index` that needs an escape, or `count`.
    /// Eight bytes at a time: a byte below 0x20, or equal to `"`, `\` or `/`, flags its word.
    @inline(__always)
    static func nextEscape(_ bytes: UnsafePointer<UInt8>, _ index: Int, _ count: Int) -> Int {
        var index = index
        #if _endian(little)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while count - index >= 8 {
                let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
                let quotes = word ^ (ones &* UInt64(quote))
                let backslashes = word ^ (ones &* UInt64(backslash))
                let slashes = word ^ (ones &* UInt64(slash))
                // Each test flags its lowest match exactly (borrows only flag bytes above it),
                // so the lowest flag of all of them is the first byte to escape.
                let controls = (word &- ones &* 0x20) & ~word
                let found =
                    (controls | (quotes &- ones) & ~quotes | (backslashes &- ones) & ~backslashes
                        | (slashes &- ones) & ~slashes) & highs
                if found != 0 { return index + found.trailingZeroBitCount / 8 }
                index += 8
            }
        #endif
        while index < count, !needsEscape(bytes[index]) { index += 1 }
        return index
    }

    /// Appends the escape JSONEncoder writes for `byte` (one that ``needsEscape(_:)``).
    @inline(__always)
    private static func appendEscape(for byte: UInt8, to bytes: inout JSONOutputBuffer) {
        switch byte {
        case quote, backslash, slash:
            bytes.append(backslash)
            bytes.append(byte)
        case 0x08: appendShort(UInt8(ascii: "b"), to: &bytes)
        case 0x0C: appendShort(UInt8(ascii: "f"), to: &bytes)
        case 0x0A: appendShort(UInt8(ascii: "n"), to: &bytes)
        case 0x0D: appendShort(UInt8(ascii: "r"), to: &bytes)
        case 0x09: appendShort(UInt8(ascii: "t"), to: &bytes)
        default:
            // \u00XX, lowercase hex as JSONEncoder writes it.
            bytes.append(backslash)
            bytes.append(UInt8(ascii: "u"))
            bytes.append(UInt8(ascii: "0"))
            bytes.append(UInt8(ascii: "0"))
            bytes.append(hexDigit(byte >> 4))
            bytes.append(hexDigit(byte & 0x0F))
        }
    }

    @inline(__always)
    private static func appendShort(_ letter: UInt8, to bytes: inout JSONOutputBuffer) {
        bytes.append(backslash)
        bytes.append(letter)
    }

    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? value &+ UInt8(ascii: "0") : value &- 10 &+ UInt8(ascii: "a")
    }

    // Computed, so that they fold into constants (a stored static is a lazy global).
    static var quote: UInt8 { 0x22 }
    static var backslash: UInt8 { 0x5C }
    static var slash: UInt8 { 0x2F }
}
