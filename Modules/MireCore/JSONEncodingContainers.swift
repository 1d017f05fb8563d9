/// A keyed container writing one JSON object: each member is written as it is encoded,
/// `"key":value`, keys in encoding order.
struct JSONKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    private let encoder: JSONValueEncoder
    private let ref: JSONContainerRef
    private let scope: JSONEncodingScope
    /// The keys of the nested containers leading here (only `codingPath` shows them).
    private let ownParent: JSONCodingPath?
    private let ownLast: JSONPathComponent?

    init(
        _ encoder: JSONValueEncoder, _ ref: JSONContainerRef, _ scope: JSONEncodingScope,
        ownParent: JSONCodingPath? = nil, ownLast: JSONPathComponent? = nil
    ) {
        self.encoder = encoder
        self.ref = ref
        self.scope = scope
        self.ownParent = ownParent
        self.ownLast = ownLast
    }

    var codingPath: [any CodingKey] { encoder.path(of: scope) + JSONCodingPath.keys(ownParent, ownLast) }

    private func valuePath(_ key: Key) -> [any CodingKey] { encoder.path(of: scope) + [key] }

    mutating func encodeNil(forKey key: Key) throws {
        try encoder.beginValue(ref, key.stringValue)
        encoder.appendNull()
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try encoder.beginValue(ref, key.stringValue)
        encoder.appendBool(value)
    }

    mutating func encode(_ value: String, forKey key: Key) throws {
        try encoder.beginValue(ref, key.stringValue)
        JSONStringEscaping.appendQuoted(value, to: &encoder.bytes)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        guard value.isFinite else { throw JSONEncodingFailure.nonConforming(value, path: valuePath(key)) }
        try encoder.beginValue(ref, key.stringValue)
        JSONNumberFormatting.appendDouble(value, to: &encoder.bytes)
    }

    mutating func encode(_ value: Float, forKey key: Key) throws {
        guard value.isFinite else { throw JSONEncodingFailure.nonConforming(value, path: valuePath(key)) }
        try encoder.beginValue(ref, key.stringValue)
        JSONNumberFormatting.appendFloat(value, to: &encoder.bytes)
    }

    mutating func encode(_ value: Int, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: Int128, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encodeInteger(value, key) }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { try encodeInteger(value, key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encoder.encodeMember(value, forKey: key, in: ref, scope: scope)
    }

    @inline(__always)
    private func encodeInteger<I: FixedWidthInteger>(_ value: I, _ key: Key) throws {
        try encoder.beginValue(ref, key.stringValue)
        JSONNumberFormatting.appendInteger(value, to: &encoder.bytes)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = beginNested(key, isObject: true)
        return KeyedEncodingContainer(
            JSONKeyedEncodingContainer<NestedKey>(
                encoder, nested, scope, ownParent: JSONCodingPath.node(ownParent, ownLast), ownLast: .key(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = beginNested(key, isObject: false)
        return JSONUnkeyedEncodingContainer(
            encoder, nested, scope, ownParent: JSONCodingPath.node(ownParent, ownLast), ownLast: .key(key))
    }

    /// Opens a nested container under `key`, or returns the dead handle when the encode is
    /// (or is now) refused.
    private func beginNested(_ key: Key, isObject: Bool) -> JSONContainerRef {
        switch encoder.beginNested(ref, key.stringValue, isObject: isObject) {
        case .written: return encoder.openContainer(isObject: isObject)
        case .refused(let message):
            encoder.refuse(message, path: codingPath + [key])
            return .dead
        case .dead: return .dead
        }
    }

    mutating func superEncoder() -> any Encoder { superEncoder(key: JSONCodingKey.superKey) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(key: key) }

    /// JSONEncoder's super encoder writes its value under `key` (when it is released); here the
    /// key is written now and the value follows.
    private func superEncoder(key: some CodingKey) -> any Encoder {
        let id: Int
        do {
            try encoder.beginValue(ref, key.stringValue, kind: .superEncoder)
            id = encoder.reserveSuper(ref)
        } catch {
            id = 0
        }
        return JSONSuperEncoder(encoder, owner: ref, id: id, scope: scope, key: .key(key))
    }
}

/// An unkeyed container writing one JSON array.
struct JSONUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    private let encoder: JSONValueEncoder
    private let ref: JSONContainerRef
    private let scope: JSONEncodingScope
    private let ownParent: JSONCodingPath?
    private let ownLast: JSONPathComponent?
    /// Elements written through this container, for `count` once the array is closed.
    private var written = 0

    init(
        _ encoder: JSONValueEncoder, _ ref: JSONContainerRef, _ scope: JSONEncodingScope,
        ownParent: JSONCodingPath? = nil, ownLast: JSONPathComponent? = nil
    ) {
        self.encoder = encoder
        self.ref = ref
        self.scope = scope
        self.ownParent = ownParent
        self.ownLast = ownLast
    }

    var codingPath: [any CodingKey] { encoder.path(of: scope) + JSONCodingPath.keys(ownParent, ownLast) }

    /// The elements of the array so far (also those written through another container for
    /// the same array, as in JSONEncoder).
    var count: Int { encoder.memberCount(ref, otherwise: written) }

    private func elementPath() -> [any CodingKey] { encoder.path(of: scope) + [JSONCodingKey(index: count)] }

    @inline(__always)
    private mutating func beginElement() throws {
        try encoder.beginElement(ref)
        written += 1
    }

    mutating func encodeNil() throws {
        try beginElement()
        encoder.appendNull()
    }

    mutating func encode(_ value: Bool) throws {
        try beginElement()
        encoder.appendBool(value)
    }

    mutating func encode(_ value: String) throws {
        try beginElement()
        JSONStringEscaping.appendQuoted(value, to: &encoder.bytes)
    }

    mutating func encode(_ value: Double) throws {
        guard value.isFinite else { throw JSONEncodingFailure.nonConforming(value, path: elementPath()) }
        try beginElement()
        JSONNumberFormatting.appendDouble(value, to: &encoder.bytes)
    }

    mutating func encode(_ value: Float) throws {
        guard value.isFinite else { throw JSONEncodingFailure.nonConforming(value, path: elementPath()) }
        try beginElement()
        JSONNumberFormatting.appendFloat(value, to: &encoder.bytes)
    }

    mutating func encode(_ value: Int) throws { try encodeInteger(value) }
    mutating func encode(_ value: Int8) throws { try encodeInteger(value) }
    mutating func encode(_ value: Int16) throws { try encodeInteger(value) }
    mutating func encode(_ value: Int32) throws { try encodeInteger(value) }
    mutating func encode(_ value: Int64) throws { try encodeInteger(value) }
    mutating func encode(_ value: Int128) throws { try encodeInteger(value) }
    mutating func encode(_ value: UInt) throws { try encodeInteger(value) }
    mutating func encode(_ value: UInt8) throws { try encodeInteger(value) }
    mutating func encode(_ value: UInt16) throws { try encodeInteger(value) }
    mutating func encode(_ value: UInt32) throws { try encodeInteger(value) }
    mutating func encode(_ value: UInt64) throws { try encodeInteger(value) }
    mutating func encode(_ value: UInt128) throws { try encodeInteger(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let index = count
        written += 1
        try encoder.encodeElement(value, in: ref, index: index, scope: scope)
    }

    @inline(__always)
    private mutating func encodeInteger<I: FixedWidthInteger>(_ value: I) throws {
        try beginElement()
        JSONNumberFormatting.appendInteger(value, to: &encoder.bytes)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        let index = count
        let nested = openNested(isObject: true)
        return KeyedEncodingContainer(
            JSONKeyedEncodingContainer<NestedKey>(
                encoder, nested, scope, ownParent: JSONCodingPath.node(ownParent, ownLast), ownLast: .index(index)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let index = count
        let nested = openNested(isObject: false)
        return JSONUnkeyedEncodingContainer(
            encoder, nested, scope, ownParent: JSONCodingPath.node(ownParent, ownLast), ownLast: .index(index))
    }

    private mutating func openNested(isObject: Bool) -> JSONContainerRef {
        do {
            try beginElement()
        } catch {
            return .dead
        }
        return encoder.openContainer(isObject: isObject)
    }

    mutating func superEncoder() -> any Encoder {
        let index = count
        let id: Int
        do {
            try beginElement()
            id = encoder.reserveSuper(ref)
        } catch {
            id = 0
        }
        return JSONSuperEncoder(encoder, owner: ref, id: id, scope: scope, key: .index(index))
    }
}

/// The encoder `superEncoder()` returns: it writes the member it reserved in its container.
/// Used at once (the usual `try super.encode(to: container.superEncoder())`), its value lands
/// there; used after its container moved on, the encode goes to JSONEncoder, which places it
/// where it was reserved.
final class JSONSuperEncoder: Encoder, SingleValueEncodingContainer, JSONSlotHolder {
    private let encoder: JSONValueEncoder
    private let owner: JSONContainerRef
    private let id: Int
    private let scope: JSONEncodingScope
    var slotContent = JSONSlotContent.empty

    init(
        _ encoder: JSONValueEncoder, owner: JSONContainerRef, id: Int, scope: JSONEncodingScope,
        key: JSONPathComponent
    ) {
        self.encoder = encoder
        self.owner = owner
        self.id = id
        // Its path is its container's encoder path and its key, as in JSONEncoder.
        self.scope = JSONEncodingScope(depth: scope.depth, extra: JSONCodingPath(parent: scope.extra, component: key))
    }

    var codingPath: [any CodingKey] { encoder.path(of: scope) }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    var slotPath: [any CodingKey] { codingPath }

    var slotScope: JSONEncodingScope { scope }

    func checkInOrder() {
        if !encoder.isPendingSuper(owner, id) { encoder.needsFallback = true }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        encoder.keyedContainer(type, holder: self)
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { encoder.unkeyedContainer(holder: self) }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() throws {
        try encoder.beginSingleValue(self)
        slotContent = .scalar
        encoder.appendNull()
    }

    func encode(_ value: Bool) throws {
        try encoder.beginSingleValue(self)
        slotContent = .scalar
        encoder.appendBool(value)
    }

    func encode(_ value: String) throws {
        try encoder.beginSingleValue(self)
        slotContent = .scalar
        JSONStringEscaping.appendQuoted(value, to: &encoder.bytes)
    }

    func encode(_ value: Double) throws {
        try encoder.beginSingleValue(self)
        guard value.isFinite else { throw JSONEncodingFailure.nonConforming(value, path: codingPath) }
        slotContent = .scalar
        JSONNumberFormatting.appendDouble(value, to: &encoder.bytes)
    }

    func encode(_ value: Float) throws {
        try encoder.beginSingleValue(self)
        guard value.isFinite else { throw JSONEncodingFailure.nonConforming(value, path: codingPath) }
        slotContent = .scalar
        JSONNumberFormatting.appendFloat(value, to: &encoder.bytes)
    }

    func encode(_ value: Int) throws { try encodeInteger(value) }
    func encode(_ value: Int8) throws { try encodeInteger(value) }
    func encode(_ value: Int16) throws { try encodeInteger(value) }
    func encode(_ value: Int32) throws { try encodeInteger(value) }
    func encode(_ value: Int64) throws { try encodeInteger(value) }
    func encode(_ value: Int128) throws { try encodeInteger(value) }
    func encode(_ value: UInt) throws { try encodeInteger(value) }
    func encode(_ value: UInt8) throws { try encodeInteger(value) }
    func encode(_ value: UInt16) throws { try encodeInteger(value) }
    func encode(_ value: UInt32) throws { try encodeInteger(value) }
    func encode(_ value: UInt64) throws { try encodeInteger(value) }
    func encode(_ value: UInt128) throws { try encodeInteger(value) }

    func encode<T: Encodable>(_ value: T) throws { try encoder.encodeSingleValue(value, holder: self) }

    private func encodeInteger<I: FixedWidthInteger>(_ value: I) throws {
        try encoder.beginSingleValue(self)
        slotContent = .scalar
        JSONNumberFormatting.appendInteger(value, to: &encoder.bytes)
    }
}
