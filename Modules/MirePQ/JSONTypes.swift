public import Foundation

/// A `jsonb` value as UTF-8 JSON text.
///
/// ```swift
/// let payload = PGJSONB(text: #"{"amount": 30}"#)
/// try await connection.query("INSERT INTO t (doc) VALUES (\(payload))")
/// ```
public struct PGJSONB: Sendable, Hashable, PGArrayElement, PGDecodable {
    /// The JSON text, UTF-8 encoded.
    public var utf8: Data

    /// Wraps UTF-8 JSON bytes (not validated here; the server validates on insert).
    public init(utf8: Data) { self.utf8 = utf8 }
    /// Wraps JSON text.
    public init(text: String) { self.utf8 = Data(text.utf8) }
    /// The JSON text.
    public var text: String { String(decoding: utf8, as: UTF8.self) }

    public static var postgresType: PGDataType { .jsonb }
    public static var postgresArrayType: PGDataType { .jsonbArray }
    public func encode(into writer: inout PGBinaryWriter) {
        writer.writeInteger(UInt8(1))  // jsonb binary format version
        writer.writeBytes(utf8)
    }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> PGJSONB
    {
        switch type {
        case .jsonb:
            let version = try reader.readInteger(as: UInt8.self)
            guard version == 1 else { throw .init("unsupported jsonb format version \(version)") }
            return PGJSONB(utf8: Data(try reader.readBytes(reader.remaining)))
        case .json:
            return PGJSONB(utf8: Data(try reader.readBytes(reader.remaining)))
        default:
            throw .init("cannot decode \(type) as PGJSONB")
        }
    }
}

/// A `json` value (text kept exactly as given, unlike `jsonb`).
///
/// ```swift
/// let raw = PGJSON(text: #"{"b":1, "a":2}"#)
/// ```
public struct PGJSON: Sendable, Hashable, PGArrayElement, PGDecodable {
    /// The JSON text, UTF-8 encoded.
    public var utf8: Data

    /// Wraps UTF-8 JSON bytes.
    public init(utf8: Data) { self.utf8 = utf8 }
    /// Wraps JSON text.
    public init(text: String) { self.utf8 = Data(text.utf8) }
    /// The JSON text.
    public var text: String { String(decoding: utf8, as: UTF8.self) }

    public static var postgresType: PGDataType { .json }
    public static var postgresArrayType: PGDataType { .jsonArray }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeBytes(utf8) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> PGJSON
    {
        guard type == .json || type == .jsonb else { throw .init("cannot decode \(type) as PGJSON") }
        if type == .jsonb { _ = try reader.readInteger(as: UInt8.self) }
        return PGJSON(utf8: Data(try reader.readBytes(reader.remaining)))
    }
}

/// An `xid8` transaction id (64-bit, never wraps), as returned by `pg_current_xact_id()`.
///
/// ```swift
/// let xid = try await connection.query("SELECT pg_current_xact_id()").single(PGTransactionID.self)
/// ```
public struct PGTransactionID: Sendable, Hashable, Comparable, PGArrayElement, PGDecodable {
    /// The full 64-bit transaction id.
    public var rawValue: UInt64

    /// Wraps a raw transaction id.
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public static var postgresType: PGDataType { .xid8 }
    public static var postgresArrayType: PGDataType { .xid8Array }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeInteger(rawValue) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> PGTransactionID
    {
        guard type == .xid8 else { throw .init("cannot decode \(type) as PGTransactionID") }
        return PGTransactionID(try reader.readInteger(as: UInt64.self))
    }
}
