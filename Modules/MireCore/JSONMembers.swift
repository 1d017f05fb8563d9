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
