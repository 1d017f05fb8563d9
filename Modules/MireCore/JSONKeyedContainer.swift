/// One member of a JSON object: where its key's text is and where its value starts.
struct JSONMember {
    /// The key's text is `bytes[keyStart..<keyEnd]` (between the quotes, escapes unresolved).
    var keyStart: Int
    var keyEnd: Int
    var value: Int

    static let none = JSONMember(keyStart: 0, keyEnd: 0, value: 0)
}

/// The members of one object: up to four inline (most objects, and so no allocation), more in
/// the decoder's shared `members` array.
struct JSONMembers {
    static let inlineCapacity = 4

    private(set) var count = 0
    /// Where the members are in `decoder.members` when there are more than four.
    private var start = 0
    private var inline = (JSONMember.none, JSONMember.none, JSONMember.none, JSONMember.none)

    mutating func append(_ member: JSONMember, spillingTo decoder: JSONValueDecoder) {
        switch count {
        case 0: inline.0 = member
        case 1: inline.1 = member
        case 2: inline.2 = member
        case 3: inline.3 = member
        case Self.inlineCapacity:
            start = decoder.members.count
            decoder.members.append(inline.0)
            decoder.members.append(inline.1)
            decoder.members.append(inline.2)
            decoder.members.append(inline.3)
            decoder.members.append(member)
        default:
            decoder.members.append(member)
        }
        count += 1
    }

    /// The first member (the only one of an enum case's object).
    var first: JSONMember { inline.0 }

    /// Calls `body` with the members in document order.
    @inline(__always)
    func withBuffer<R>(_ decoder: JSONValueDecoder, _ body: (UnsafeBufferPointer<JSONMember>) throws -> R) rethrows
        -> R
    {
        if count > Self.inlineCapacity {
            return try decoder.members.withUnsafeBufferPointer { all in
                try body(UnsafeBufferPointer(rebasing: all[start..<start + count]))
            }
        }
        return try withUnsafePointer(to: inline) { tuple in
            try tuple.withMemoryRebound(to: JSONMember.self, capacity: Self.inlineCapacity) { start in
                try body(UnsafeBufferPointer(start: start, count: count))
            }
        }
    }
}

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

/// The lookup of one object with many members or with keys that need decoding.
///
/// Plain keys (printable ASCII, no escapes) are hashed as bytes into an open-addressing table of
/// first occurrences, with no strings built; other objects decode every key, as JSONDecoder
/// does, and compare them as Swift strings.
final class JSONObjectIndex {
    /// Plain objects: member position + 1 per slot (0 is empty); a power-of-two count.
    private let slots: ContiguousArray<Int32>
    /// Other objects: every member's decoded key, and the first member for each.
    private let names: [String]
    private let firstByName: [String: Int]
    /// Whether each member's key is the first occurrence of that key (the one that counts).
    private let isFirst: ContiguousArray<Bool>
    /// The member after the last one found: decoders mostly ask for keys in document order,
    /// and then a lookup is one comparison.
    private var next = 0

    init(decoder: JSONValueDecoder, members: UnsafeBufferPointer<JSONMember>, plain: Bool) throws {
        let count = members.count
        var isFirst = ContiguousArray(repeating: false, count: count)
        if plain && count < Int(Int32.max) / 2 {
            var capacity = 16
            while capacity < count * 2 { capacity *= 2 }
            var slots = ContiguousArray<Int32>(repeating: 0, count: capacity)
            let mask = capacity - 1
            let bytes = decoder.bytes
            for (position, member) in members.enumerated() {
                let key = UnsafeBufferPointer(start: bytes + member.keyStart, count: member.keyEnd - member.keyStart)
                var slot = Self.hash(key) & mask
                while true {
                    let entry = Int(slots[slot])
                    if entry == 0 {
                        slots[slot] = Int32(position + 1)
                        isFirst[position] = true
                        break
                    }
                    let other = members[entry - 1]
                    if JSONStringParsing.equals(bytes, other.keyStart, other.keyEnd - other.keyStart, key) { break }
                    slot = (slot + 1) & mask
                }
            }
            self.slots = slots
            self.names = []
            self.firstByName = [:]
        } else {
            var names: [String] = []
            names.reserveCapacity(count)
            for member in members {
                // JSONDecoder decodes every key when it opens an object: a bad key fails here too.
                guard let name = JSONStringParsing.string(decoder.bytes, at: member.keyStart - 1, end: decoder.end)
                else { throw JSONDecodingFailure.invalidJSON }
                names.append(name)
            }
            var firstByName: [String: Int] = [:]
            firstByName.reserveCapacity(count)
            for (position, name) in names.enumerated() {
                // One hash lookup: insert only where the key is new.
                Self.setIfAbsent(&firstByName[name, default: -1], position, &isFirst)
            }
            self.slots = []
            self.names = names
            self.firstByName = firstByName
        }
        self.isFirst = isFirst
    }

    @inline(__always)
    private static func setIfAbsent(_ slot: inout Int, _ position: Int, _ isFirst: inout ContiguousArray<Bool>) {
        if slot < 0 {
            slot = position
            isFirst[position] = true
        }
    }

    /// Seeded per process (Hasher), so crafted keys cannot force collisions.
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        return hasher.finalize()
    }

    /// The position of the first member whose key equals `name`, or `nil`.
    func find(_ name: String, members: UnsafeBufferPointer<JSONMember>, bytes: UnsafePointer<UInt8>) -> Int? {
        if slots.isEmpty {
            let guess = next
            if guess < names.count, isFirst[guess], names[guess] == name {
                next = guess + 1
                return guess
            }
            guard let position = firstByName[name] else { return nil }
            next = position + 1
            return position
        }
        var name = name
        let found = name.withUTF8 { utf8 -> Int? in
            let guess = next
            if guess < members.count, isFirst[guess] {
                let member = members[guess]
                if JSONStringParsing.equals(bytes, member.keyStart, member.keyEnd - member.keyStart, utf8) {
                    return guess
                }
            }
            let mask = slots.count - 1
            var slot = Self.hash(utf8) & mask
            while true {
                let entry = Int(slots[slot])
                if entry == 0 { return nil }
                let member = members[entry - 1]
                if JSONStringParsing.equals(bytes, member.keyStart, member.keyEnd - member.keyStart, utf8) {
                    return entry - 1
                }
                slot = (slot + 1) & mask
            }
        }
        if let found {
            next = found + 1
            return found
        }
        guard !name.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        // A non-ASCII name can still equal an ASCII key (U+212A KELVIN SIGN is "K").
        return members.indices.first { position in
            isFirst[position]
                && String(
                    decoding: UnsafeBufferPointer(
                        start: bytes + members[position].keyStart,
                        count: members[position].keyEnd - members[position].keyStart), as: UTF8.self) == name
        }
    }

    /// Keys in document order, without repeats.
    func distinctNames(members: UnsafeBufferPointer<JSONMember>, bytes: UnsafePointer<UInt8>) -> [String] {
        var distinct: [String] = []
        distinct.reserveCapacity(members.count)
        for position in members.indices where isFirst[position] {
            if slots.isEmpty {
                distinct.append(names[position])
            } else {
                let member = members[position]
                distinct.append(
                    String(
                        decoding: UnsafeBufferPointer(
                            start: bytes + member.keyStart, count: member.keyEnd - member.keyStart),
                        as: UTF8.self))
            }
        }
        return distinct
    }
}
