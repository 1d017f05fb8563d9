/// Reads one leaf value (a string, number or boolean) where it lies in a checked document, by
/// JSONDecoder's rules for each. Shared by the `Decoder` (``JSONValueDecoder``) and the flat
/// payload reader of generated event decoders (``JSONFlatObject``). Errors carry no coding path:
/// callers add it.
struct JSONLeafReader {
    let bytes: UnsafePointer<UInt8>
    /// Readable bytes are `bytes[0..<end]`.
    let end: Int

    /// The byte at `index`, or 0 (never the start of a value) outside the document.
    @inline(__always)
    func byte(at index: Int) -> UInt8 { index >= 0 && index < end ? bytes[index] : 0 }

    @inline(__always)
    private func mismatch(at offset: Int) -> JSONValueError {
        let kind = JSONValueKind(firstByte: byte(at: offset))
        return kind == .null ? .null : .mismatch(found: kind)
    }

    func bool(at offset: Int) throws(JSONValueError) -> Bool {
        switch byte(at: offset) {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        case let other: throw .mismatch(found: JSONValueKind(firstByte: other))  // null too, as in JSONDecoder
        }
    }

    func string(at offset: Int) throws(JSONValueError) -> String {
        guard byte(at: offset) == JSONScan.quote else { throw mismatch(at: offset) }
        guard let string = JSONStringParsing.string(bytes, at: offset, end: end) else { throw .corrupt }
        return string
    }

    /// The number token at `offset`, or the error for a value that is not a number.
    @inline(__always)
    private func number(at offset: Int) throws(JSONValueError) -> UnsafeBufferPointer<UInt8> {
        let first = byte(at: offset)
        guard first == UInt8(ascii: "-") || JSONNumberParsing.isDigit(first) else { throw mismatch(at: offset) }
        return UnsafeBufferPointer(start: bytes + offset, count: JSONScan.numberEnd(bytes, offset, end) - offset)
    }

    @inline(__always)
    func integer<I: FixedWidthInteger & Decodable>(_ type: I.Type, at offset: Int) throws(JSONValueError) -> I {
        guard let integer: I = JSONNumberParsing.integer(try number(at: offset)) else { throw .corrupt }
        return integer
    }

    func double(at offset: Int) throws(JSONValueError) -> Double {
        try floatingPoint(at: offset, JSONNumberParsing.double)
    }

    func float(at offset: Int) throws(JSONValueError) -> Float {
        try floatingPoint(at: offset, JSONNumberParsing.float)
    }

    @inline(__always)
    private func floatingPoint<F: BinaryFloatingPoint>(
        at offset: Int, _ parse: (UnsafeBufferPointer<UInt8>) -> F
    ) throws(JSONValueError) -> F {
        let text = try number(at: offset)
        guard JSONNumberParsing.isValid(text) else { throw .corrupt }
        let value = parse(text)
        // Out of range either way is an error in JSONDecoder, never ±infinity or a silent 0.
        guard value.isFinite, value != 0 || JSONNumberParsing.isTrueZero(text) else { throw .corrupt }
        return value
    }
}
