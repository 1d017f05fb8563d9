/// A stored event's payload when it is a small flat object, as most are: at most four members,
/// keys of printable ASCII without escapes, and only strings, numbers, booleans and `null` as
/// values. One scan finds the members and each value is read where it lies, with none of the
/// `Decoder` machinery (decoder object, generic container, coding path), which costs most of a
/// replay's client time. Any other payload goes through ``JSONKeyedContainer``, and so does a
/// value asked for as a type that is not a leaf.
///
/// Only a generated decoder reads it, and it only ever agrees with `Codable` or gives up: a
/// missing key, a value of the wrong kind or a key that needs Unicode comparison throws, and the
/// event is then decoded by `Codable`.
struct JSONFlatObject {
    static let capacity = 4

    let buffer: JSONBuffer
    /// The syntax check's record of container ends, for a `JSONKeyedContainer` made on demand.
    private let containers: JSONContainerEnds
    /// Where the object starts in `buffer`.
    private let object: Int
    private let count: Int
    /// The offset after the object's closing brace.
    let objectEnd: Int
    private let members: (JSONMember, JSONMember, JSONMember, JSONMember)

    /// The flat object at `offset` of a checked document; nil when the value there is not one.
    init?(buffer: JSONBuffer, containers: JSONContainerEnds, object offset: Int) {
        let bytes = UnsafePointer(buffer.base)
        let end = buffer.end
        func byte(_ index: Int) -> UInt8 { index < end ? bytes[index] : 0 }
        guard byte(offset) == UInt8(ascii: "{") else { return nil }
        var found = (JSONMember.none, JSONMember.none, JSONMember.none, JSONMember.none)
        var count = 0
        var index = JSONScan.skipWhitespace(bytes, offset + 1, end)
        scan: while byte(index) != UInt8(ascii: "}") {
            guard byte(index) == JSONScan.quote else { return nil }
            let keyStart = index + 1
            var keyEnd = keyStart
            while keyEnd < end, bytes[keyEnd] != JSONScan.quote {
                // Escapes and non-ASCII keys need string comparison: not flat.
                guard bytes[keyEnd] >= 0x20, bytes[keyEnd] < 0x80, bytes[keyEnd] != JSONScan.backslash else {
                    return nil
                }
                keyEnd += 1
            }
            index = JSONScan.skipWhitespace(bytes, keyEnd + 1, end)
            guard byte(index) == UInt8(ascii: ":") else { return nil }
            let value = JSONScan.skipWhitespace(bytes, index + 1, end)
            guard count < Self.capacity, byte(value) != UInt8(ascii: "{"), byte(value) != UInt8(ascii: "[") else {
                return nil
            }
            let member = JSONMember(keyStart: keyStart, keyEnd: keyEnd, value: value)
            switch count {
            case 0: found.0 = member
            case 1: found.1 = member
            case 2: found.2 = member
            default: found.3 = member
            }
            count += 1
            index = JSONScan.skipWhitespace(bytes, JSONScan.valueEnd(bytes, value, end), end)
            switch byte(index) {
            case UInt8(ascii: ","):
                // A trailing comma is accepted, as JSONDecoder accepts it.
                index = JSONScan.skipWhitespace(bytes, index + 1, end)
            case UInt8(ascii: "}"):
                break scan
            default:
                return nil
            }
        }
        self.buffer = buffer
        self.containers = containers
        self.object = offset
        self.count = count
        self.objectEnd = index + 1
        self.members = found
    }

    /// Thrown when the flat reader gives up on a value (the event is then decoded by `Codable`).
    struct GaveUp: Error {}

    /// The offset of the value of the first member named `name` (as JSONDecoder keeps the first
    /// of duplicate keys); nil when there is none.
    private func find(_ name: String) throws(GaveUp) -> Int? {
        var name = name
        let bytes = UnsafePointer(buffer.base)
        let found = name.withUTF8 { name -> Int?? in
            // A non-ASCII name can equal an ASCII key by canonical equivalence: not compared here.
            guard name.allSatisfy({ $0 < 0x80 }) else { return .none }
            return withUnsafePointer(to: members) { tuple in
                tuple.withMemoryRebound(to: JSONMember.self, capacity: Self.capacity) { members in
                    for member in UnsafeBufferPointer(start: members, count: count)
                    where JSONStringParsing.equals(bytes, member.keyStart, member.keyEnd - member.keyStart, name) {
                        return .some(member.value)
                    }
                    return .some(nil)
                }
            }
        }
        guard let found else { throw GaveUp() }
        return found
    }

    /// Whether values of `type` are read in place (`Int64`, `String`, `Int`, `Bool`, `Double`);
    /// others go through ``container()``.
    static func readsInPlace<T>(_ type: T.Type) -> Bool {
        switch JSONLeafType(T.self) {
        case .int64, .string, .int, .bool, .double: true
        default: false
        }
    }

    /// The value for `name`, of a type ``readsInPlace(_:)``; throws when it is missing or refused.
    func leaf<T>(_ type: T.Type, forKey name: String) throws -> T {
        guard let offset = try find(name) else { throw GaveUp() }
        return try read(T.self, at: offset)
    }

    /// The value for `name`, or nil when it is missing or `null` (as synthesized `Codable` reads
    /// an optional associated value).
    func leafIfPresent<T>(_ type: T.Type, forKey name: String) throws -> T? {
        guard let offset = try find(name), leaves.byte(at: offset) != UInt8(ascii: "n") else { return nil }
        return try read(T.self, at: offset)
    }

    private var leaves: JSONLeafReader { JSONLeafReader(bytes: UnsafePointer(buffer.base), end: buffer.end) }

    /// The leaf value at `offset` as `T`, one of the types ``readsInPlace(_:)``.
    private func read<T>(_ type: T.Type, at offset: Int) throws -> T {
        switch JSONLeafType(T.self) {
        case .int64: unsafeBitCast(try leaves.integer(Int64.self, at: offset), to: T.self)
        case .string: unsafeBitCast(try leaves.string(at: offset), to: T.self)
        case .int: unsafeBitCast(try leaves.integer(Int.self, at: offset), to: T.self)
        case .bool: unsafeBitCast(try leaves.bool(at: offset), to: T.self)
        case .double: unsafeBitCast(try leaves.double(at: offset), to: T.self)
        default: throw GaveUp()
        }
    }

    /// The object as a keyed container, for a value of a type that is not a leaf.
    func container() throws -> JSONKeyedContainer<JSONCodingKey> {
        let decoder = JSONValueDecoder(
            buffer: buffer, containers: containers, value: 0, parentPath: nil, lastComponent: nil)
        return try JSONKeyedContainer<JSONCodingKey>(decoder: decoder, object: object, parent: nil, pending: nil)
    }
}
