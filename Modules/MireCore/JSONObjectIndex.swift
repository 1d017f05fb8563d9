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
