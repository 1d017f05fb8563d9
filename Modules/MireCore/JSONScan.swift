/// Byte-level scanning shared by the syntax check and the decoders. Every read is bounds-checked
/// against `end`: a scan that runs out returns `end` (or `nil`), never reads past it.
enum JSONScan {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// The first offset at or after `index` that is not JSON whitespace (or `end`).
    @inline(__always)
    static func skipWhitespace(_ bytes: UnsafePointer<UInt8>, _ index: Int, _ end: Int) -> Int {
        var index = index
        while index < end, isWhitespace(bytes[index]) { index += 1 }
        return index
    }

    /// The characters JSONDecoder's scanner takes as part of a number: `0-9 . + - e E`.
    @inline(__always)
    static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"),
            UInt8(ascii: "e"), UInt8(ascii: "E"):
            return true
        default:
            return false
        }
    }

    /// The end of the number token starting at `index` (its first byte is `-` or a digit).
    @inline(__always)
    static func numberEnd(_ bytes: UnsafePointer<UInt8>, _ index: Int, _ end: Int) -> Int {
        var index = index + 1
        while index < end, isNumberByte(bytes[index]) { index += 1 }
        return index
    }

    /// The offset of the next `"` or `\` at or after `index`, or `end`. Eight bytes at a time.
    @inline(__always)
    static func nextQuoteOrBackslash(_ bytes: UnsafePointer<UInt8>, _ index: Int, _ end: Int) -> Int {
        var index = index
        #if _endian(little)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while end - index >= 8 {
                let word = UnsafeRawPointer(bytes + index).loadUnaligned(as: UInt64.self)
                let quotes = word ^ (ones &* UInt64(quote))
                let slashes = word ^ (ones &* UInt64(backslash))
                // A zero byte in `quotes` or `slashes` marks a match; the lowest flag is exact.
                let found = ((quotes &- ones) & ~quotes | (slashes &- ones) & ~slashes) & highs
                if found != 0 { return index + found.trailingZeroBitCount / 8 }
                index += 8
            }
        #endif
        while index < end, bytes[index] != quote, bytes[index] != backslash { index += 1 }
        return index
    }

    /// The offset after the string whose opening quote is at `index`, with JSONDecoder's scanner
    /// rules: `\` takes the next byte whatever it is, `\u` four more, none of them a quote.
    /// `nil` when the string is cut short or a `\u` runs into a quote.
    @inline(__always)
    static func stringEnd(_ bytes: UnsafePointer<UInt8>, _ index: Int, _ end: Int) -> Int? {
        var index = index + 1
        while true {
            index = nextQuoteOrBackslash(bytes, index, end)
            guard index < end else { return nil }
            if bytes[index] == quote { return index + 1 }
            index += 1
            guard index < end else { return nil }
            let escaped = bytes[index]
            index += 1
            if escaped == UInt8(ascii: "u") {
                guard end - index >= 4 else { return nil }
                for offset in 0..<4 where bytes[index + offset] == quote { return nil }
                index += 4
            }
        }
    }

    /// The offset after the value starting at `index`, in a document that passed the syntax
    /// check. Never reads past `end`; on damaged input it returns `end` or stops early.
    static func valueEnd(_ bytes: UnsafePointer<UInt8>, _ index: Int, _ end: Int) -> Int {
        guard index < end else { return end }
        switch bytes[index] {
        case quote:
            return stringEnd(bytes, index, end) ?? end
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = index
            while index < end {
                switch bytes[index] {
                case quote:
                    index = stringEnd(bytes, index, end) ?? end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            return end
        case UInt8(ascii: "t"), UInt8(ascii: "n"):
            return min(index + 4, end)
        case UInt8(ascii: "f"):
            return min(index + 5, end)
        default:
            return numberEnd(bytes, index, end)
        }
    }
}
