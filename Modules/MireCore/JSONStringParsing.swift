/// String parsing with JSONDecoder's rules: valid UTF-8 only, no unescaped control characters,
/// the escapes `\" \\ \/ \b \f \n \r \t \uXXXX`, `\u0000` allowed, and a high surrogate only
/// with a low surrogate right after it.
enum JSONStringParsing {
    /// The string whose opening quote is at `index`, or `nil` when its text is invalid.
    static func string(_ bytes: UnsafePointer<UInt8>, at index: Int, end: Int) -> String? {
        let start = index + 1
        var cursor = start
        var ascii = true
        while cursor < end {
            let byte = bytes[cursor]
            if byte == JSONScan.quote {
                let text = UnsafeBufferPointer(start: bytes + start, count: cursor - start)
                // ASCII needs no validation; other text must be valid UTF-8, as in JSONDecoder.
                return ascii ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
            }
            if byte == JSONScan.backslash { return escaped(bytes, from: start, end: end) }
            if byte < 0x20 { return nil }
            if byte >= 0x80 { ascii = false }
            cursor += 1
        }
        return nil
    }

    /// The string from `start` (just after its opening quote) when it has escapes.
    private static func escaped(_ bytes: UnsafePointer<UInt8>, from start: Int, end: Int) -> String? {
        guard let after = JSONScan.stringEnd(bytes, start - 1, end) else { return nil }
        let count = after - 1 - start
        // Unescaping never lengthens the text: \n → 1 byte, \uXXXX → at most 3, a pair → 4.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(count, 1)) { output -> String? in
            var written = 0
            var cursor = start
            let stop = start + count
            while cursor < stop {
                let byte = bytes[cursor]
                if byte != JSONScan.backslash {
                    if byte < 0x20 { return nil }
                    output[written] = byte
                    written += 1
                    cursor += 1
                    continue
                }
                guard cursor + 1 < stop else { return nil }
                let kind = bytes[cursor + 1]
                cursor += 2
                let simple: UInt8
                switch kind {
                case UInt8(ascii: "\""): simple = 0x22
                case UInt8(ascii: "\\"): simple = 0x5C
                case UInt8(ascii: "/"): simple = 0x2F
                case UInt8(ascii: "b"): simple = 0x08
                case UInt8(ascii: "f"): simple = 0x0C
                case UInt8(ascii: "n"): simple = 0x0A
                case UInt8(ascii: "r"): simple = 0x0D
                case UInt8(ascii: "t"): simple = 0x09
                case UInt8(ascii: "u"):
                    guard let (scalar, next) = unicodeEscape(bytes, at: cursor, stop: stop) else { return nil }
                    cursor = next
                    guard let encoded = UTF8.encode(scalar) else { return nil }
                    for unit in encoded {
                        output[written] = unit
                        written += 1
                    }
                    continue
                default:
                    return nil
                }
                output[written] = simple
                written += 1
            }
            return String(validating: UnsafeBufferPointer(rebasing: output[0..<written]), as: UTF8.self)
        }
    }

    /// The scalar of `XXXX` at `index` (after `\u`), with its low surrogate if it is a high one.
    private static func unicodeEscape(_ bytes: UnsafePointer<UInt8>, at index: Int, stop: Int) -> (
        Unicode.Scalar, Int
    )? {
        guard let unit = hex4(bytes, at: index, stop: stop) else { return nil }
        if UTF16.isLeadSurrogate(unit) {
            guard stop - index >= 10, bytes[index + 4] == JSONScan.backslash, bytes[index + 5] == UInt8(ascii: "u"),
                let low = hex4(bytes, at: index + 6, stop: stop), UTF16.isTrailSurrogate(low)
            else { return nil }
            let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            guard let scalar = Unicode.Scalar(value) else { return nil }
            return (scalar, index + 10)
        }
        guard let scalar = Unicode.Scalar(unit) else { return nil }  // a lone low surrogate
        return (scalar, index + 4)
    }

    private static func hex4(_ bytes: UnsafePointer<UInt8>, at index: Int, stop: Int) -> UInt16? {
        guard stop - index >= 4 else { return nil }
        var value: UInt16 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// Whether the plain (escape-free, ASCII, no control characters) key text equals `name`'s
    /// UTF-8 bytes.
    @inline(__always)
    static func equals(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ count: Int, _ name: UnsafeBufferPointer<UInt8>)
        -> Bool
    {
        guard count == name.count else { return false }
        guard count > 0, let other = name.baseAddress else { return true }
        return memcmpBytes(bytes + start, other, count)
    }

    @inline(__always)
    private static func memcmpBytes(_ left: UnsafePointer<UInt8>, _ right: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var index = 0
        while index < count {
            if left[index] != right[index] { return false }
            index += 1
        }
        return true
    }
}
