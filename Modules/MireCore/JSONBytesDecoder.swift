package import Foundation

/// Decodes `Decodable` values straight from UTF-8 JSON bytes, with the results and errors of
/// Foundation's `JSONDecoder()` under its default strategies, several times faster.
///
/// It mirrors JSONDecoder on this toolchain: the whole document's structure is checked first
/// (trailing commas accepted, nesting limited to 512), and any syntax error is
/// `DecodingError.dataCorrupted` with an empty coding path; strings and numbers are checked when
/// decoded, so a malformed number nobody reads is no error; `1.0` and `1e2` decode as integers,
/// `300` as an `Int8` is an error; duplicate keys keep the first value; `Data` is Base64, `Date`
/// seconds since 2001. Objects are scanned once into key and value offsets and values decoded
/// lazily; nothing builds an intermediate tree. Never traps, whatever the bytes.
///
/// Where it differs, all rare: `Decimal` values, and integers past 2⁵³ written with a fraction
/// or an exponent, are handed to JSONDecoder itself (its Decimal parser is not public); so are
/// documents in UTF-16 or UTF-32. `allKeys` lists keys in document order (JSONDecoder's order is
/// its dictionary's, so with several bad values in a dictionary the first error may differ).
/// Inside `init(from:)`, malformed text (a bad escape, `01`) throws the `dataCorrupted` error at
/// once, where JSONDecoder throws an internal error that becomes the same `dataCorrupted` when it
/// leaves `decode`: only code that catches errors mid-decode can tell.
///
/// ```swift
/// struct Point: Decodable { var x: Int; var y: Int }
/// let point = try JSONBytesDecoder().decode(Point.self, from: Data(#"{"x": 1, "y": 2}"#.utf8))
/// ```
package struct JSONBytesDecoder: Sendable {
    /// A decoder; it has no options (JSONDecoder's defaults) and no state.
    ///
    /// ```swift
    /// let decoder = JSONBytesDecoder()
    /// ```
    package init() {}

    /// Decodes a whole JSON document.
    ///
    /// ```swift
    /// let numbers = try JSONBytesDecoder().decode([Int].self, from: Data("[1, 2, 3]".utf8))
    /// ```
    package func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try data.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes a whole JSON document.
    ///
    /// ```swift
    /// let flag = try JSONBytesDecoder().decode(Bool.self, from: Array("true".utf8))
    /// ```
    package func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes a whole JSON document. The bytes are copied: the decoder never keeps the pointer.
    ///
    /// ```swift
    /// let text = try json.withUnsafeBytes { try JSONBytesDecoder().decode(String.self, from: $0) }
    /// ```
    package func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        let skipped: Int
        switch Self.detectEncoding(bytes) {
        case .utf8(let byteOrderMark): skipped = byteOrderMark
        case .other: return try JSONFallback.decoder.decode(type, from: Data(bytes))
        }
        let count = bytes.count - skipped
        let buffer = JSONBuffer.make(documentCount: count) { base in
            if count > 0, let source = bytes.baseAddress {
                UnsafeMutableRawPointer(base).copyMemory(from: source + skipped, byteCount: count)
            }
        }
        return try Self.decode(type, from: buffer)
    }

    /// Decodes an enum event stored as its case name and its associated values' JSON: the
    /// document JSONDecoder would read is `{"caseName": payload}`, which synthesized `Codable`
    /// enums expect. It is assembled once in the decoder's own copy of the bytes.
    ///
    /// ```swift
    /// enum AccountEvent: Codable { case deposited(amount: Int64) }
    /// let event = try JSONBytesDecoder().decode(
    ///     AccountEvent.self, caseName: "deposited", payload: Data(#"{"amount": 30}"#.utf8))
    /// ```
    package func decode<T: Decodable>(_ type: T.Type, caseName: String, payload: Data) throws -> T {
        try payload.withUnsafeBytes { try decode(type, caseName: caseName, payload: $0) }
    }

    /// Decodes an enum event from its case name and the bytes of its associated values' JSON
    /// (copied: the decoder never keeps the pointer).
    ///
    /// ```swift
    /// let event = try bytes.withUnsafeBytes {
    ///     try JSONBytesDecoder().decode(AccountEvent.self, caseName: "deposited", payload: $0)
    /// }
    /// ```
    package func decode<T: Decodable>(_ type: T.Type, caseName: String, payload: UnsafeRawBufferPointer) throws -> T {
        var name = caseName
        return try name.withUTF8 { name in
            // The name goes between quotes unescaped: one that would end them (or needs escaping)
            // is no case name, and must not splice keys of its own into the document.
            guard !name.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else {
                throw DecodingError.dataCorrupted(
                    DecodingError.Context(codingPath: [], debugDescription: "'\(caseName)' is not a case name"))
            }
            // {"name":payload}
            let count = name.count + payload.count + 5
            let buffer = JSONBuffer.make(documentCount: count) { base in
                base[0] = UInt8(ascii: "{")
                base[1] = UInt8(ascii: "\"")
                if let source = name.baseAddress { (base + 2).update(from: source, count: name.count) }
                base[name.count + 2] = UInt8(ascii: "\"")
                base[name.count + 3] = UInt8(ascii: ":")
                if let source = payload.baseAddress {
                    UnsafeMutableRawPointer(base + name.count + 4).copyMemory(
                        from: source, byteCount: payload.count)
                }
                base[count - 1] = UInt8(ascii: "}")
            }
            return try Self.decode(type, from: buffer)
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, from buffer: JSONBuffer) throws -> T {
        guard let (top, containers) = JSONSyntaxCheck.check(buffer.base, from: 0, to: buffer.documentEnd) else {
            throw JSONDecodingFailure.invalidJSON
        }
        let decoder = JSONValueDecoder(
            buffer: buffer, containers: containers, value: top, parentPath: nil, lastComponent: nil)
        return try decoder.unwrap(type, at: top, parent: nil, pending: nil, last: nil)
    }

    private enum Encoding: Equatable {
        case utf8(byteOrderMark: Int)
        case other
    }

    /// JSONDecoder's encoding detection (RFC 4627 §3, byte order marks): a UTF-8 BOM is
    /// skipped; UTF-16 and UTF-32 documents go to JSONDecoder.
    private static func detectEncoding(_ bytes: UnsafeRawBufferPointer) -> Encoding {
        let count = bytes.count
        let b0: UInt8? = count > 0 ? bytes[0] : nil
        let b1: UInt8? = count > 1 ? bytes[1] : nil
        let b2: UInt8? = count > 2 ? bytes[2] : nil
        let b3: UInt8? = count > 3 ? bytes[3] : nil
        switch (b0, b1, b2, b3) {
        case (0, 0, 0xFE, 0xFF), (0xFE, 0xFF, _, _), (0xFF, 0xFE, _, _):
            return .other
        case (0xEF, 0xBB, 0xBF, _):
            return .utf8(byteOrderMark: 3)
        case (0, 0, 0, .some(let last)) where last != 0:
            return .other
        case (0, .some(let second), 0, .some(let last)) where second != 0 && last != 0:
            return .other
        case (.some(let first), 0, 0, 0) where first != 0:
            return .other
        case (.some(let first), 0, .some(let third), 0) where first != 0 && third != 0:
            return .other
        case (0, .some(let second), nil, nil) where second != 0:
            return .other
        case (.some(let first), 0, nil, nil) where first != 0:
            return .other
        default:
            return .utf8(byteOrderMark: 0)
        }
    }
}

/// Decodes a whole JSON document into `type` with ``JSONBytesDecoder``: JSONDecoder's results,
/// faster. For snapshots and other stored states.
///
/// ```swift
/// let state = try decodeJSON(AccountState.self, from: snapshotJSON)
/// ```
package func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    try JSONBytesDecoder().decode(type, from: data)
}
