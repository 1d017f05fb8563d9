public import Foundation

extension Bool: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .bool }
    public static var postgresArrayType: PGDataType { .boolArray }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeInteger(UInt8(self ? 1 : 0)) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Bool
    {
        guard type == .bool else { throw .init("cannot decode \(type) as Bool") }
        return try reader.readInteger(as: UInt8.self) != 0
    }
}

/// Decodes any integer column that fits `I` (int2, int4, int8; oid as unsigned). xid8 decodes
/// as `PGTransactionID` only.
private func decodeInteger<I: FixedWidthInteger>(
    _: I.Type, from reader: inout PGBinaryReader, type: PGDataType
)
    throws(PGDecodingFailure) -> I
{
    let wide: Int64
    switch type {
    case .int2: wide = Int64(try reader.readInteger(as: Int16.self))
    case .int4: wide = Int64(try reader.readInteger(as: Int32.self))
    case .int8: wide = try reader.readInteger(as: Int64.self)
    case .oidType: wide = Int64(try reader.readInteger(as: UInt32.self))
    default: throw .init("cannot decode \(type) as \(I.self)")
    }
    guard let value = I(exactly: wide) else { throw .init("value \(wide) of type \(type) does not fit \(I.self)") }
    return value
}

extension Int16: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .int2 }
    public static var postgresArrayType: PGDataType { .int2Array }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeInteger(self) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Int16
    { try decodeInteger(Self.self, from: &reader, type: type) }
}

extension Int32: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .int4 }
    public static var postgresArrayType: PGDataType { .int4Array }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeInteger(self) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Int32
    { try decodeInteger(Self.self, from: &reader, type: type) }
}

extension Int64: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .int8 }
    public static var postgresArrayType: PGDataType { .int8Array }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeInteger(self) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Int64
    { try decodeInteger(Self.self, from: &reader, type: type) }
}

extension Int: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .int8 }
    public static var postgresArrayType: PGDataType { .int8Array }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeInteger(Int64(self)) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Int
    { try decodeInteger(Self.self, from: &reader, type: type) }
}

extension Double: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .float8 }
    public static var postgresArrayType: PGDataType { .float8Array }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeInteger(bitPattern) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Double
    {
        switch type {
        case .float8: return Double(bitPattern: try reader.readInteger(as: UInt64.self))
        case .float4: return Double(Float(bitPattern: try reader.readInteger(as: UInt32.self)))
        default: throw .init("cannot decode \(type) as Double")
        }
    }
}

extension String: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .text }
    public static var postgresArrayType: PGDataType { .textArray }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeBytes(utf8) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> String
    {
        guard type.isTextLike else { throw .init("cannot decode \(type) as String") }
        return String(decoding: try reader.readBytes(reader.remaining), as: UTF8.self)
    }
}

extension UUID: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .uuid }
    public static var postgresArrayType: PGDataType { .uuidArray }
    public func encode(into writer: inout PGBinaryWriter) { withUnsafeBytes(of: uuid) { writer.writeBytes($0) } }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> UUID
    {
        guard type == .uuid else { throw .init("cannot decode \(type) as UUID") }
        let bytes = try reader.readBytes(16)
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &raw) { $0.copyMemory(from: bytes) }
        return UUID(uuid: raw)
    }
}

/// `bytea`: raw bytes.
extension Data: PGArrayElement, PGDecodable {
    public static var postgresType: PGDataType { .bytea }
    public static var postgresArrayType: PGDataType { .byteaArray }
    public func encode(into writer: inout PGBinaryWriter) { writer.writeBytes(self) }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Data
    {
        guard type == .bytea else { throw .init("cannot decode \(type) as Data") }
        return Data(try reader.readBytes(reader.remaining))
    }
}

/// `timestamptz`: microseconds since 2000-01-01 00:00 UTC on the wire.
extension Date: PGArrayElement, PGDecodable {
    /// Seconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
    private static let postgresEpoch: TimeInterval = 946_684_800

    public static var postgresType: PGDataType { .timestamptz }
    public static var postgresArrayType: PGDataType { .timestamptzArray }
    public func encode(into writer: inout PGBinaryWriter) {
        let micros = ((timeIntervalSince1970 - Self.postgresEpoch) * 1_000_000).rounded()
        // Beyond what int8 microseconds hold (or NaN), the date is PostgreSQL's 'infinity' or
        // '-infinity' (Int64.max / Int64.min on the wire) rather than a trap.
        writer.writeInteger(Int64(exactly: micros) ?? (micros < 0 ? Int64.min : Int64.max))
    }
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Date
    {
        guard type == .timestamptz || type == .timestamp else { throw .init("cannot decode \(type) as Date") }
        let micros = try reader.readInteger(as: Int64.self)
        return Date(timeIntervalSince1970: Double(micros) / 1_000_000 + postgresEpoch)
    }
}
