/// A keyed container over one JSON object. Opening it scans the object once, recording each
/// member's key and value offsets; values are decoded only when asked for.
///
/// Keys match as Swift strings do in JSONDecoder (which keys a dictionary by them): the first of
/// duplicate keys wins, and keys compare by canonical equivalence. Most objects have short ASCII
/// keys without escapes; those are compared as raw bytes, which is then the same thing.
struct JSONKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    private let decoder: JSONValueDecoder
    /// This object's coding path: a node and one more step, built into a node only when a nested
    /// container or decoder needs it.
    private let parent: JSONCodingPath?
    private let pending: JSONPathComponent?
    private let members: JSONMembers
    /// Decoded keys, for objects with escaped or non-ASCII keys or many members.
    private let index: JSONObjectIndex?

    /// Objects with more members than this get an index instead of linear search.
    private static var linearSearchLimit: Int { 12 }

    /// The container for the object at `offset`, whose path is `parent` then `pending`.
    init(decoder: JSONValueDecoder, object offset: Int, parent: JSONCodingPath?, pending: JSONPathComponent?) throws {
        self.decoder = decoder
        self.parent = parent
        self.pending = pending
        var members = JSONMembers()
        let plain: Bool
        do {
            plain = try Self.scan(decoder, object: offset) { members.append($0, spillingTo: decoder) }
        } catch .corrupt {
            throw JSONDecodingFailure.invalidJSON
        } catch {
            throw JSONDecodingFailure.notAnObject(
                JSONValueKind(firstByte: decoder.byte(at: offset)), path: JSONCodingPath.keys(parent, pending))
        }
        self.members = members
        if !plain || members.count > Self.linearSearchLimit {
            // JSONDecoder decodes every key when it opens an object: a bad key fails here too.
            index = try members.withBuffer(decoder) { try JSONObjectIndex(decoder: decoder, members: $0, plain: plain) }
        } else {
            index = nil
        }
    }

    /// Reads the object's members in order; returns whether every key is plain (printable ASCII
    /// without escapes, so that comparing bytes is comparing strings).
    @inline(__always)
    private static func scan(
        _ decoder: JSONValueDecoder, object offset: Int, _ add: (JSONMember) -> Void
    ) throws(JSONValueError) -> Bool {
        guard decoder.byte(at: offset) == UInt8(ascii: "{") else {
            throw .mismatch(found: JSONValueKind(firstByte: decoder.byte(at: offset)))
        }
        let bytes = decoder.bytes
        let end = decoder.end
        var plain = true
        var index = JSONScan.skipWhitespace(bytes, offset + 1, end)
        if decoder.byte(at: index) == UInt8(ascii: "}") { return true }
        while true {
            guard decoder.byte(at: index) == JSONScan.quote else { throw .corrupt }
            let keyStart = index + 1
            var keyEnd = keyStart
            while keyEnd < end {
                let byte = bytes[keyEnd]
                if byte == JSONScan.quote { break }
                if byte == JSONScan.backslash {
                    plain = false
                    guard let after = JSONScan.stringEnd(bytes, index, end) else { throw .corrupt }
                    keyEnd = after - 1
                    break
                }
                if byte < 0x20 || byte >= 0x80 { plain = false }
                keyEnd += 1
            }
            index = JSONScan.skipWhitespace(bytes, keyEnd + 1, end)
            guard decoder.byte(at: index) == UInt8(ascii: ":") else { throw .corrupt }
            let value = JSONScan.skipWhitespace(bytes, index + 1, end)
            add(JSONMember(keyStart: keyStart, keyEnd: keyEnd, value: value))
            index = JSONScan.skipWhitespace(bytes, decoder.valueEnd(value), end)
            switch decoder.byte(at: index) {
            case UInt8(ascii: ","):
                index = JSONScan.skipWhitespace(bytes, index + 1, end)
                if decoder.byte(at: index) == UInt8(ascii: "}") { return plain }
            case UInt8(ascii: "}"):
                return plain
            default:
                throw .corrupt
            }
        }
    }

    // MARK: Lookup

    /// The offset of the value for `key` (its first occurrence), or `nil`.
    @inline(__always)
    private func find(_ key: Key) -> Int? { find(name: key.stringValue) }

    private func find(name: String) -> Int? {
        if let index {
            let bytes = decoder.bytes
            return members.withBuffer(decoder) { members in
                index.find(name, members: members, bytes: bytes).map { members[$0].value }
            }
        }
        var name = name
        let bytes = decoder.bytes
        let found = name.withUTF8 { utf8 -> Int? in
            members.withBuffer(decoder) { members -> Int? in
                for member in members
                where JSONStringParsing.equals(bytes, member.keyStart, member.keyEnd - member.keyStart, utf8) {
                    return member.value
                }
                return nil
            }
        }
        if found != nil || name.utf8.allSatisfy({ $0 < 0x80 }) { return found }
        // A non-ASCII name can still equal an ASCII key (U+212A KELVIN SIGN is "K").
        return members.withBuffer(decoder) { members in members.first { keyString($0) == name }?.value }
    }

    private func keyString(_ member: JSONMember) -> String {
        String(
            decoding: UnsafeBufferPointer(
                start: decoder.bytes + member.keyStart, count: member.keyEnd - member.keyStart),
            as: UTF8.self)
    }

    private func require(_ key: Key) throws -> Int {
        guard let value = find(key) else { throw JSONDecodingFailure.keyNotFound(key, path: codingPath) }
        return value
    }

    // MARK: KeyedDecodingContainerProtocol

    var codingPath: [any CodingKey] { JSONCodingPath.keys(parent, pending) }

    var allKeys: [Key] {
        // No generic closures here: in unspecialized code each costs metadata lookups.
        if let index {
            let names = members.withBuffer(decoder) { index.distinctNames(members: $0, bytes: decoder.bytes) }
            var keys: [Key] = []
            keys.reserveCapacity(names.count)
            for name in names {
                if let key = Key(stringValue: name) { keys.append(key) }
            }
            return keys
        }
        if members.count == 1 {  // an enum case: the common single-key object
            guard let key = Key(stringValue: keyString(members.first)) else { return [] }
            return [key]
        }
        var keys: [Key] = []
        for name in distinctPlainKeys() {
            if let key = Key(stringValue: name) { keys.append(key) }
        }
        return keys
    }

    /// The keys of a plain object in document order, without repeats.
    private func distinctPlainKeys() -> [String] {
        let bytes = decoder.bytes
        return members.withBuffer(decoder) { members in
            var names: [String] = []
            names.reserveCapacity(members.count)
            for (position, member) in members.enumerated() {
                let key = UnsafeBufferPointer(start: bytes + member.keyStart, count: member.keyEnd - member.keyStart)
                let repeated = members[..<position].contains { earlier in
                    JSONStringParsing.equals(bytes, earlier.keyStart, earlier.keyEnd - earlier.keyStart, key)
                }
                if !repeated { names.append(keyString(member)) }
            }
            return names
        }
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { decoder.byte(at: try require(key)) == UInt8(ascii: "n") }

    /// Reads a required value with `reader`, adding this key to the path of its error.
    @inline(__always)
    private func read<T>(_ type: T.Type, _ key: Key, _ reader: (Int) throws(JSONValueError) -> T) throws -> T {
        let offset = try require(key)
        do {
            return try reader(offset)
        } catch {
            throw error.decodingError(type, path: JSONCodingPath.keys(parent, pending, .key(key)))
        }
    }

    /// Reads an optional value: missing or `null` is `nil`.
    @inline(__always)
    private func readIfPresent<T>(_ type: T.Type, _ key: Key, _ reader: (Int) throws(JSONValueError) -> T) throws -> T?
    {
        guard let offset = find(key), decoder.byte(at: offset) != UInt8(ascii: "n") else { return nil }
        do {
            return try reader(offset)
        } catch {
            throw error.decodingError(type, path: JSONCodingPath.keys(parent, pending, .key(key)))
        }
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try read(type, key) { offset throws(JSONValueError) in try decoder.bool(at: offset) }
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try read(type, key) { offset throws(JSONValueError) in try decoder.string(at: offset) }
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try read(type, key) { offset throws(JSONValueError) in try decoder.double(at: offset) }
    }

    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try read(type, key) { offset throws(JSONValueError) in try decoder.float(at: offset) }
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(type, key) }
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try integer(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(type, key) }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try integer(type, key) }

    @inline(__always)
    private func integer<I: FixedWidthInteger & Decodable>(_ type: I.Type, _ key: Key) throws -> I {
        try read(type, key) { offset throws(JSONValueError) in try decoder.integer(type, at: offset) }
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.unwrap(type, at: try require(key), parent: parent, pending: pending, last: .key(key))
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try readIfPresent(type, key) { offset throws(JSONValueError) in try decoder.bool(at: offset) }
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try readIfPresent(type, key) { offset throws(JSONValueError) in try decoder.string(at: offset) }
    }

    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try readIfPresent(type, key) { offset throws(JSONValueError) in try decoder.double(at: offset) }
    }

    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try readIfPresent(type, key) { offset throws(JSONValueError) in try decoder.float(at: offset) }
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: Int128.Type, forKey key: Key) throws -> Int128? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try integerIfPresent(type, key) }
    func decodeIfPresent(_ type: UInt128.Type, forKey key: Key) throws -> UInt128? {
        try integerIfPresent(type, key)
    }

    @inline(__always)
    private func integerIfPresent<I: FixedWidthInteger & Decodable>(_ type: I.Type, _ key: Key) throws -> I? {
        try readIfPresent(type, key) { offset throws(JSONValueError) in try decoder.integer(type, at: offset) }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let offset = find(key), decoder.byte(at: offset) != UInt8(ascii: "n") else { return nil }
        return try decoder.unwrap(type, at: offset, parent: parent, pending: pending, last: .key(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let offset = try require(key)
        return KeyedDecodingContainer(
            try JSONKeyedContainer<NestedKey>(
                decoder: decoder, object: offset, parent: JSONCodingPath.node(parent, pending), pending: .key(key)))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let offset = try require(key)
        return try JSONUnkeyedContainer(
            decoder: decoder, array: offset, parent: JSONCodingPath.node(parent, pending), pending: .key(key))
    }

    func superDecoder() throws -> any Decoder {
        subDecoder(at: find(name: JSONCodingKey.superKey.stringValue), key: JSONCodingKey.superKey)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { subDecoder(at: find(key), key: key) }

    /// A decoder for the value at `offset`, or for `null` when the key is missing (as in
    /// JSONDecoder).
    private func subDecoder(at offset: Int?, key: any CodingKey) -> any Decoder {
        JSONValueDecoder(
            buffer: decoder.buffer, containers: decoder.containers, value: offset ?? decoder.buffer.nullValue,
            parentPath: JSONCodingPath.node(parent, pending), lastComponent: .key(key))
    }
}
