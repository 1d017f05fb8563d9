/// An unkeyed container over one JSON array, walking its elements in order. `count` scans the
/// array the first time it is asked (Dictionary's pair decoding asks; Array does not) and
/// remembers it: a `while currentIndex < count!` loop stays linear.
struct JSONUnkeyedContainer: UnkeyedDecodingContainer {
    /// The count once scanned; a box because `count` is a non-mutating getter.
    private final class CountMemo {
        var value: Int?
    }
    private let countMemo = CountMemo()
    private let decoder: JSONValueDecoder
    private let path: JSONCodingPath?
    /// The offset of the array's `[`.
    private let start: Int
    /// The offset of the current element, or of the closing `]` when at the end.
    private var position: Int
    private(set) var currentIndex = 0

    /// The container for the array at `offset`, whose path is `parent` then `pending`.
    init(decoder: JSONValueDecoder, array offset: Int, parent: JSONCodingPath?, pending: JSONPathComponent?) throws {
        guard decoder.byte(at: offset) == UInt8(ascii: "[") else {
            throw JSONDecodingFailure.notAnArray(
                JSONValueKind(firstByte: decoder.byte(at: offset)), path: JSONCodingPath.keys(parent, pending))
        }
        self.decoder = decoder
        // Built once here, so that no element needs a node of its own.
        self.path = JSONCodingPath.node(parent, pending)
        self.start = offset
        self.position = JSONScan.skipWhitespace(decoder.bytes, offset + 1, decoder.end)
    }

    var codingPath: [any CodingKey] { JSONCodingPath.keys(path) }

    var count: Int? {
        if let known = countMemo.value { return known }
        var elements = 0
        var index = JSONScan.skipWhitespace(decoder.bytes, start + 1, decoder.end)
        while index < decoder.end, decoder.bytes[index] != UInt8(ascii: "]") {
            elements += 1
            index = next(after: index)
        }
        countMemo.value = elements
        return elements
    }

    var isAtEnd: Bool { position >= decoder.end || decoder.bytes[position] == UInt8(ascii: "]") }

    /// The start of the element after the one at `index` (or of the `]`, a trailing comma
    /// included); `decoder.end` if the array is damaged.
    private func next(after index: Int) -> Int {
        let bytes = decoder.bytes
        let end = decoder.end
        let after = JSONScan.skipWhitespace(bytes, decoder.valueEnd(index), end)
        guard after < end else { return end }
        switch bytes[after] {
        case UInt8(ascii: ","): return JSONScan.skipWhitespace(bytes, after + 1, end)
        case UInt8(ascii: "]"): return after
        default: return end
        }
    }

    /// Moves to the next element. At the end only the index moves: JSONDecoder's
    /// `decodeIfPresent` past the end returns `nil` and counts.
    private mutating func advance() {
        if !isAtEnd { position = next(after: position) }
        currentIndex += 1
    }

    private var elementPath: [any CodingKey] { JSONCodingPath.keys(path, .index(currentIndex)) }

    private mutating func read<T>(_ type: T.Type, _ reader: (Int) throws(JSONValueError) -> T) throws -> T {
        guard !isAtEnd else { throw JSONDecodingFailure.atEnd(type, path: elementPath) }
        let value: T
        do {
            value = try reader(position)
        } catch {
            throw error.decodingError(type, path: elementPath)
        }
        advance()
        return value
    }

    private mutating func readIfPresent<T>(_ type: T.Type, _ reader: (Int) throws(JSONValueError) -> T) throws -> T? {
        if isAtEnd || decoder.bytes[position] == UInt8(ascii: "n") {
            advance()
            return nil
        }
        let value: T
        do {
            value = try reader(position)
        } catch {
            throw error.decodingError(type, path: elementPath)
        }
        advance()
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw JSONDecodingFailure.atEnd(Never.self, path: elementPath) }
        guard decoder.bytes[position] == UInt8(ascii: "n") else { return false }
        advance()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        let decoder = decoder
        return try read(type) { offset throws(JSONValueError) in try decoder.bool(at: offset) }
    }

    mutating func decode(_ type: String.Type) throws -> String {
        let decoder = decoder
        return try read(type) { offset throws(JSONValueError) in try decoder.string(at: offset) }
    }

    mutating func decode(_ type: Double.Type) throws -> Double {
        let decoder = decoder
        return try read(type) { offset throws(JSONValueError) in try decoder.double(at: offset) }
    }

    mutating func decode(_ type: Float.Type) throws -> Float {
        let decoder = decoder
        return try read(type) { offset throws(JSONValueError) in try decoder.float(at: offset) }
    }

    mutating func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try integer(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try integer(type) }

    @inline(__always)
    private mutating func integer<I: FixedWidthInteger & Decodable>(_ type: I.Type) throws -> I {
        let decoder = decoder
        return try read(type) { offset throws(JSONValueError) in try decoder.integer(type, at: offset) }
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard !isAtEnd else { throw JSONDecodingFailure.atEnd(type, path: elementPath) }
        let value = try decoder.unwrap(type, at: position, parent: path, pending: nil, last: .index(currentIndex))
        advance()
        return value
    }

    mutating func decodeIfPresent(_ type: Bool.Type) throws -> Bool? {
        let decoder = decoder
        return try readIfPresent(type) { offset throws(JSONValueError) in try decoder.bool(at: offset) }
    }

    mutating func decodeIfPresent(_ type: String.Type) throws -> String? {
        let decoder = decoder
        return try readIfPresent(type) { offset throws(JSONValueError) in try decoder.string(at: offset) }
    }

    mutating func decodeIfPresent(_ type: Double.Type) throws -> Double? {
        let decoder = decoder
        return try readIfPresent(type) { offset throws(JSONValueError) in try decoder.double(at: offset) }
    }

    mutating func decodeIfPresent(_ type: Float.Type) throws -> Float? {
        let decoder = decoder
        return try readIfPresent(type) { offset throws(JSONValueError) in try decoder.float(at: offset) }
    }

    mutating func decodeIfPresent(_ type: Int.Type) throws -> Int? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: Int8.Type) throws -> Int8? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: Int16.Type) throws -> Int16? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: Int32.Type) throws -> Int32? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: Int64.Type) throws -> Int64? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: Int128.Type) throws -> Int128? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: UInt.Type) throws -> UInt? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: UInt8.Type) throws -> UInt8? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: UInt16.Type) throws -> UInt16? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: UInt32.Type) throws -> UInt32? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: UInt64.Type) throws -> UInt64? { try integerIfPresent(type) }
    mutating func decodeIfPresent(_ type: UInt128.Type) throws -> UInt128? { try integerIfPresent(type) }

    @inline(__always)
    private mutating func integerIfPresent<I: FixedWidthInteger & Decodable>(_ type: I.Type) throws -> I? {
        let decoder = decoder
        return try readIfPresent(type) { offset throws(JSONValueError) in try decoder.integer(type, at: offset) }
    }

    mutating func decodeIfPresent<T: Decodable>(_ type: T.Type) throws -> T? {
        if isAtEnd || decoder.bytes[position] == UInt8(ascii: "n") {
            advance()
            return nil
        }
        let value = try decoder.unwrap(type, at: position, parent: path, pending: nil, last: .index(currentIndex))
        advance()
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        guard !isAtEnd else {
            throw JSONDecodingFailure.atEnd(KeyedDecodingContainer<NestedKey>.self, path: elementPath)
        }
        let container = try JSONKeyedContainer<NestedKey>(
            decoder: decoder, object: position, parent: path, pending: .index(currentIndex))
        advance()
        return KeyedDecodingContainer(container)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard !isAtEnd else { throw JSONDecodingFailure.atEnd((any UnkeyedDecodingContainer).self, path: elementPath) }
        let container = try JSONUnkeyedContainer(
            decoder: decoder, array: position, parent: path, pending: .index(currentIndex))
        advance()
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        guard !isAtEnd else {
            throw JSONDecodingFailure.atEnd(
                (any Decoder).self, path: elementPath,
                message: "Cannot get superDecoder() -- unkeyed container is at end.")
        }
        let decoder = JSONValueDecoder(
            buffer: decoder.buffer, containers: decoder.containers, value: position, parentPath: path,
            lastComponent: .index(currentIndex))
        advance()
        return decoder
    }
}
