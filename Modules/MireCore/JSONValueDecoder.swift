internal import Foundation

/// The `Decoder` behind ``JSONBytesDecoder``: one per decode (and per `superDecoder`), reused for
/// every nested value the way JSONDecoder reuses its own, so descending into a value costs no
/// allocation. It is also the single-value container of the value it is reading.
final class JSONValueDecoder: Decoder, SingleValueDecodingContainer {
    let buffer: JSONBuffer
    let bytes: UnsafePointer<UInt8>
    let end: Int
    /// The value `init(from:)` is reading now, and its coding path (a shared node plus the last
    /// step, kept apart so that no node is built unless a container or an error needs it).
    private var value: Int
    private var parentPath: JSONCodingPath?
    private var lastComponent: JSONPathComponent?
    /// The members of every object opened so far; each keyed container owns a range of it.
    var members: ContiguousArray<JSONMember> = []

    init(buffer: JSONBuffer, value: Int, parentPath: JSONCodingPath?, lastComponent: JSONPathComponent?) {
        self.buffer = buffer
        self.bytes = UnsafePointer(buffer.base)
        self.end = buffer.end
        self.value = value
        self.parentPath = parentPath
        self.lastComponent = lastComponent
    }

    /// The byte at `index`, or 0 (never the start of a value) outside the buffer.
    @inline(__always)
    func byte(at index: Int) -> UInt8 { index >= 0 && index < end ? bytes[index] : 0 }

    // MARK: Decoder

    var codingPath: [any CodingKey] { JSONCodingPath.keys(parentPath, lastComponent) }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(
            try JSONKeyedContainer<Key>(
                decoder: self, object: value, path: JSONCodingPath.node(parentPath, lastComponent)))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try JSONUnkeyedContainer(decoder: self, array: value, path: JSONCodingPath.node(parentPath, lastComponent))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Values

    /// Decodes the value at `offset` as `T`, with the special cases JSONDecoder makes (Data as
    /// Base64, Date as a number, URL as a string, Decimal) and common leaf types read directly.
    func unwrap<T: Decodable>(
        _ type: T.Type, at offset: Int, parent: JSONCodingPath?, last: JSONPathComponent?
    ) throws -> T {
        if let leaf = try leafValue(type, at: offset, parent: parent, last: last) { return leaf }
        if T.self == Data.self {
            return cast(try data(at: offset, path: JSONCodingPath.keys(parent, last)), to: T.self)
        }
        if T.self == Date.self || T.self == URL.self || T.self == Decimal.self {
            let kind = JSONValueKind(firstByte: byte(at: offset))
            if kind == .null {
                throw JSONValueError.null.decodingError(T.self, path: JSONCodingPath.keys(parent, last))
            }
            if T.self == URL.self {
                let string = try read(String.self, parent, last) { () throws(JSONValueError) in
                    try self.string(at: offset)
                }
                guard let url = URL(string: string) else {
                    throw JSONValueError.refused("Invalid URL string.").decodingError(
                        T.self, path: JSONCodingPath.keys(parent, last))
                }
                return cast(url, to: T.self)
            }
            if T.self == Decimal.self {
                guard kind == .number else {
                    throw DecodingError.typeMismatch(
                        Decimal.self,
                        DecodingError.Context(codingPath: JSONCodingPath.keys(parent, last), debugDescription: ""))
                }
                return cast(try decimal(at: offset), to: T.self)
            }
        }
        return try descend(into: offset, parent: parent, last: last) { try T(from: self) }
    }

    /// Runs `body` with this decoder reading the value at `offset`, then restores it.
    @inline(__always)
    func descend<T>(
        into offset: Int, parent: JSONCodingPath?, last: JSONPathComponent?, _ body: () throws -> T
    ) rethrows -> T {
        let saved = (value, parentPath, lastComponent)
        value = offset
        parentPath = parent
        lastComponent = last
        defer { (value, parentPath, lastComponent) = saved }
        return try body()
    }

    /// The common leaf types, read without going through their `init(from:)`; `nil` for others.
    @inline(__always)
    private func leafValue<T>(_ type: T.Type, at offset: Int, parent: JSONCodingPath?, last: JSONPathComponent?)
        throws -> T?
    {
        func leafInteger<I: FixedWidthInteger & Decodable>(_ type: I.Type) throws -> T {
            cast(
                try read(I.self, parent, last) { () throws(JSONValueError) in try self.integer(I.self, at: offset) },
                to: T.self)
        }
        if T.self == String.self {
            return cast(
                try read(String.self, parent, last) { () throws(JSONValueError) in try string(at: offset) }, to: T.self)
        }
        if T.self == Int.self { return try leafInteger(Int.self) }
        if T.self == Int64.self { return try leafInteger(Int64.self) }
        if T.self == Double.self {
            return cast(
                try read(Double.self, parent, last) { () throws(JSONValueError) in try double(at: offset) }, to: T.self)
        }
        if T.self == Bool.self {
            return cast(
                try read(Bool.self, parent, last) { () throws(JSONValueError) in try bool(at: offset) }, to: T.self)
        }
        if T.self == Int32.self { return try leafInteger(Int32.self) }
        if T.self == UInt64.self { return try leafInteger(UInt64.self) }
        if T.self == Float.self {
            return cast(
                try read(Float.self, parent, last) { () throws(JSONValueError) in try float(at: offset) }, to: T.self)
        }
        if T.self == UInt.self { return try leafInteger(UInt.self) }
        if T.self == Int8.self { return try leafInteger(Int8.self) }
        if T.self == Int16.self { return try leafInteger(Int16.self) }
        if T.self == UInt8.self { return try leafInteger(UInt8.self) }
        if T.self == UInt16.self { return try leafInteger(UInt16.self) }
        if T.self == UInt32.self { return try leafInteger(UInt32.self) }
        return nil
    }

    /// Runs a value reader, turning its failure into JSONDecoder's error at the given path.
    @inline(__always)
    func read<R>(
        _ type: Any.Type, _ parent: JSONCodingPath?, _ last: JSONPathComponent?,
        _ reader: () throws(JSONValueError) -> R
    ) throws -> R {
        do {
            return try reader()
        } catch {
            throw error.decodingError(type, path: JSONCodingPath.keys(parent, last))
        }
    }

    /// Reinterprets a value as `T` once the caller has checked that `T` is its type.
    @inline(__always)
    private func cast<Value, T>(_ value: Value, to type: T.Type) -> T {
        // Checked rather than assumed: a wrong cast here would be memory corruption.
        precondition(Value.self == T.self)
        return unsafeBitCast(value, to: T.self)
    }

    // MARK: Readers (no path: callers add it to the error)

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

    func integer<I: FixedWidthInteger & Decodable>(_ type: I.Type, at offset: Int) throws(JSONValueError) -> I {
        guard let integer: I = JSONNumberParsing.integer(try number(at: offset)) else { throw .corrupt }
        return integer
    }

    func double(at offset: Int) throws(JSONValueError) -> Double {
        let text = try number(at: offset)
        guard JSONNumberParsing.isValid(text) else { throw .corrupt }
        let value = JSONNumberParsing.double(text)
        // Out of range either way is an error in JSONDecoder, never ±infinity or a silent 0.
        guard value.isFinite, value != 0 || JSONNumberParsing.isTrueZero(text) else { throw .corrupt }
        return value
    }

    func float(at offset: Int) throws(JSONValueError) -> Float {
        let text = try number(at: offset)
        guard JSONNumberParsing.isValid(text) else { throw .corrupt }
        let value = JSONNumberParsing.float(text)
        guard value.isFinite, value != 0 || JSONNumberParsing.isTrueZero(text) else { throw .corrupt }
        return value
    }

    /// Data from a Base64 string (JSONDecoder's default strategy).
    private func data(at offset: Int, path: @autoclosure () -> [any CodingKey]) throws -> Data {
        let kind = JSONValueKind(firstByte: byte(at: offset))
        if kind == .null { throw JSONValueError.null.decodingError(Data.self, path: path()) }
        let string: String
        do {
            string = try self.string(at: offset)
        } catch {
            throw error.decodingError(String.self, path: path())
        }
        guard let data = Data(base64Encoded: string) else {
            throw JSONValueError.refused("Encountered Data is not valid Base64.").decodingError(Data.self, path: path())
        }
        return data
    }

    /// Decimal numbers, decoded by JSONDecoder itself: its Decimal parser is not public, and
    /// matching it digit for digit matters more than speed for this rare type.
    private func decimal(at offset: Int) throws -> Decimal {
        let text = UnsafeBufferPointer(start: bytes + offset, count: JSONScan.numberEnd(bytes, offset, end) - offset)
        do {
            return try JSONFallback.decoder.decode(Decimal.self, from: Data(text))
        } catch {
            throw JSONDecodingFailure.invalidJSON
        }
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { byte(at: value) == UInt8(ascii: "n") }

    func decode(_ type: Bool.Type) throws -> Bool {
        let offset = value
        return try read(type, parentPath, lastComponent) { () throws(JSONValueError) in try bool(at: offset) }
    }

    func decode(_ type: String.Type) throws -> String {
        let offset = value
        return try read(type, parentPath, lastComponent) { () throws(JSONValueError) in try string(at: offset) }
    }

    func decode(_ type: Double.Type) throws -> Double {
        let offset = value
        return try read(type, parentPath, lastComponent) { () throws(JSONValueError) in try double(at: offset) }
    }

    func decode(_ type: Float.Type) throws -> Float {
        let offset = value
        return try read(type, parentPath, lastComponent) { () throws(JSONValueError) in try float(at: offset) }
    }

    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type) }
    func decode(_ type: Int128.Type) throws -> Int128 { try decodeInteger(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type) }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try decodeInteger(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try unwrap(type, at: value, parent: parentPath, last: lastComponent)
    }

    private func decodeInteger<I: FixedWidthInteger & Decodable>(_ type: I.Type) throws -> I {
        let offset = value
        return try read(type, parentPath, lastComponent) { () throws(JSONValueError) in try integer(type, at: offset) }
    }
}
