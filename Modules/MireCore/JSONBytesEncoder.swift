package import Foundation

/// Encodes `Encodable` values straight to UTF-8 JSON bytes, as Foundation's `JSONEncoder()`
/// under its default strategies encodes them, several times faster: no intermediate tree, no
/// dictionary per object, each member written once as it is encoded.
///
/// The output decodes (with JSONDecoder or ``JSONBytesDecoder``) to the same values as
/// JSONEncoder's. Numbers and strings are JSONEncoder's text: integers in decimal, floating
/// point as the shortest text that reads back the same (`1.0` → `1`, `-0.0` → `-0`, `1e-05`,
/// `1.7976931348623157e+308`), strings with `/` escaped as `\/` and control characters as
/// `\b \f \n \r \t` or `\u00XX`. Date is its seconds since 2001, Data Base64, URL its absolute
/// string, Decimal its description; NaN and infinities throw JSONEncoder's
/// `EncodingError.invalidValue`, at its coding path.
///
/// Where the bytes differ from JSONEncoder's, the decoded value never does:
/// - Keys are written in the order they are encoded; JSONEncoder writes an object's keys in
///   its dictionary's order, which changes from run to run. Payloads are stored as `jsonb`,
///   which keeps no key order anyway.
/// - A key encoded twice keeps the last value in JSONEncoder. Streaming has written the first
///   by then, so such a value (rare: synthesized code never does it) is encoded by JSONEncoder
///   itself, and so is any other use of containers streaming cannot follow: writing through a
///   container after its parent moved on, a `superEncoder()` used after its container moved
///   on.
/// - A member whose encode threw is undone: a value that catches the error and goes on leaves
///   the member out, as JSONEncoder does where it does not trap (it can, reusing the encoder
///   of the failed value).
/// - What would trap JSONEncoder throws an `EncodingError` here: a second single value, an
///   unkeyed container after a keyed one, a nested container for a key that holds another kind
///   of value. So does `Decimal.nan`, which JSONEncoder writes as `NaN` (not JSON), and
///   containers nested 512 deep, which JSONEncoder refuses too, with a vaguer message.
///
/// ```swift
/// struct Point: Encodable { var x: Int; var y: Int }
/// let json = try JSONBytesEncoder().encode(Point(x: 1, y: 2))  // {"x":1,"y":2}
/// ```
package struct JSONBytesEncoder: Sendable {
    /// An encoder; it has no options (JSONEncoder's defaults) and no state.
    ///
    /// ```swift
    /// let encoder = JSONBytesEncoder()
    /// ```
    package init() {}

    /// Encodes `value` as a whole JSON document.
    ///
    /// ```swift
    /// let bytes = try JSONBytesEncoder().encode([1, 2, 3])  // [1,2,3]
    /// ```
    package func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try JSONEncoderPool.withEncoder { encoder in
            guard try Self.stream(value, with: encoder) else { return [UInt8](try JSONFallback.encoder.encode(value)) }
            return encoder.bytes.array(0..<encoder.bytes.count)
        }
    }

    /// Encodes `value` as a whole JSON document, as `Data` (what JSONEncoder returns).
    ///
    /// ```swift
    /// let data = try JSONBytesEncoder().encodeData(["a": 1])  // {"a":1}
    /// ```
    package func encodeData<T: Encodable>(_ value: T) throws -> Data {
        try JSONEncoderPool.withEncoder { encoder in
            guard try Self.stream(value, with: encoder) else { return try JSONFallback.encoder.encode(value) }
            return encoder.bytes.data(0..<encoder.bytes.count)
        }
    }

    /// Encodes an enum case as its name and the JSON of its associated values: synthesized
    /// `Codable` writes a case as `{"caseName":{…associated values…}}`, and this returns
    /// `caseName` and the bytes of `{…}` without building the whole document first.
    ///
    /// - Throws: ``JSONNotOneKeyObject`` when the value does not encode as an object with
    ///   exactly one key; otherwise what JSONEncoder would throw.
    ///
    /// ```swift
    /// enum AccountEvent: Encodable { case deposited(amount: Int64), closed }
    /// let (name, payload) = try JSONBytesEncoder().encodeEnumCase(AccountEvent.deposited(amount: 30))
    /// // name == "deposited", payload == {"amount":30}; .closed gives "closed" and {}
    /// ```
    package func encodeEnumCase<E: Encodable>(_ value: E) throws -> (caseName: String, payload: [UInt8]) {
        try JSONEncoderPool.withEncoder { encoder in
            guard try Self.stream(value, with: encoder) else {
                let bytes = [UInt8](try JSONFallback.encoder.encode(value))
                let (name, range) = try Self.oneKeyObject(bytes, of: E.self)
                return (name, Array(bytes[range]))
            }
            let (name, range) = try Self.oneKeyObject(encoder, of: E.self)
            return (name, encoder.bytes.array(range))
        }
    }

    /// ``encodeEnumCase(_:)`` with the payload as `Data`.
    ///
    /// ```swift
    /// let (name, payload) = try JSONBytesEncoder().encodeEnumCaseData(AccountEvent.closed)  // "closed", {}
    /// ```
    package func encodeEnumCaseData<E: Encodable>(_ value: E) throws -> (caseName: String, payload: Data) {
        try JSONEncoderPool.withEncoder { encoder in
            guard try Self.stream(value, with: encoder) else {
                let bytes = [UInt8](try JSONFallback.encoder.encode(value))
                let (name, range) = try Self.oneKeyObject(bytes, of: E.self)
                return (name, Data(bytes[range]))
            }
            let (name, range) = try Self.oneKeyObject(encoder, of: E.self)
            return (name, encoder.bytes.data(range))
        }
    }

    /// Streams `value` with `encoder`: true when its bytes are the output, false when
    /// JSONEncoder must encode it (streaming could not follow its use of containers).
    private static func stream<T: Encodable>(_ value: T, with encoder: JSONValueEncoder) throws -> Bool {
        do {
            try encoder.encodeTopLevel(value)
        } catch {
            // A refusal stands even if the value's own code caught it on the way.
            if let refusal = encoder.refusal { throw refused(value, refusal) }
            throw error
        }
        if let refusal = encoder.refusal { throw refused(value, refusal) }
        return !encoder.needsFallback
    }

    private static func refused<T>(_ value: T, _ refusal: (message: String, path: [any CodingKey])) -> EncodingError {
        .invalidValue(value, EncodingError.Context(codingPath: refusal.path, debugDescription: refusal.message))
    }

    /// The one key of the streamed top-level object and its value's range in the output.
    private static func oneKeyObject<E>(_ encoder: JSONValueEncoder, of type: E.Type) throws -> (String, Range<Int>) {
        let end = encoder.bytes.count
        guard case .container(let ref, isObject: true, _) = encoder.slot.content, ref.index == 0,
            encoder.topLevelMembers == 1, let name = encoder.topLevelKey, encoder.topLevelValueStart < end
        else { throw JSONNotOneKeyObject(typeName: "\(E.self)") }
        // {"name":value} — the value runs to the closing brace.
        return (name, encoder.topLevelValueStart..<(end - 1))
    }

    private static func oneKeyObject<E>(_ bytes: [UInt8], of type: E.Type) throws -> (String, Range<Int>) {
        guard let split = splitOneKeyObject(bytes) else { throw JSONNotOneKeyObject(typeName: "\(E.self)") }
        return split
    }

    /// The key and the value's range of JSONEncoder's `{"key":value}` (it writes no
    /// whitespace), or nil for anything else.
    static func splitOneKeyObject(_ bytes: [UInt8]) -> (String, Range<Int>)? {
        bytes.withUnsafeBufferPointer { buffer -> (String, Range<Int>)? in
            guard let base = buffer.baseAddress else { return nil }
            let end = buffer.count
            guard end >= 2, base[0] == UInt8(ascii: "{"), base[1] == UInt8(ascii: "\""),
                let keyEnd = JSONScan.stringEnd(base, 1, end), keyEnd < end, base[keyEnd] == UInt8(ascii: ":"),
                let name = JSONStringParsing.string(base, at: 1, end: end)
            else { return nil }
            let valueStart = keyEnd + 1
            let valueEnd = JSONScan.valueEnd(base, valueStart, end)
            guard valueStart < valueEnd, valueEnd == end - 1, base[end - 1] == UInt8(ascii: "}") else { return nil }
            return (name, valueStart..<valueEnd)
        }
    }
}

/// Encodes `value` as a whole JSON document with ``JSONBytesEncoder``: JSONEncoder's output
/// (see there for the differences), faster. For struct events, snapshots and other stored
/// states.
///
/// ```swift
/// let json = try encodeJSON(accountState)
/// ```
package func encodeJSON<T: Encodable>(_ value: T) throws -> Data {
    try JSONBytesEncoder().encodeData(value)
}

extension JSONFallback {
    /// The Foundation encoder for values streaming cannot follow.
    static let encoder = JSONEncoder()
}
