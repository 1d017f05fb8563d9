/// A Swift value that can be sent as a bound query parameter, in binary format.
///
/// ```swift
/// struct Cents: PGEncodable {
///     var value: Int64
///     static var postgresType: PGDataType { .int8 }
///     func encode(into writer: inout PGBinaryWriter) { writer.writeInteger(value) }
/// }
/// ```
public protocol PGEncodable: Sendable {
    /// The parameter's declared type.
    static var postgresType: PGDataType { get }
    /// Writes the value's binary representation (never called for `NULL`).
    func encode(into writer: inout PGBinaryWriter)
    /// Whether this value is SQL `NULL`; only `Optional.none` says yes.
    var isPostgresNull: Bool { get }
}

extension PGEncodable {
    public var isPostgresNull: Bool { false }
}

/// A Swift value that can be decoded from a binary-format result column.
///
/// ```swift
/// extension Cents: PGDecodable {
///     static func decode(from reader: inout PGBinaryReader, type: PGDataType) throws(PGDecodingFailure) -> Cents {
///         Cents(value: try Int64.decode(from: &reader, type: type))
///     }
/// }
/// ```
public protocol PGDecodable: Sendable {
    /// Decodes a non-null value of server type `type`.
    static func decode(from reader: inout PGBinaryReader, type: PGDataType) throws(PGDecodingFailure)
        -> Self
    /// The value for SQL `NULL`, or nil when this type cannot represent it.
    static var postgresNull: Self? { get }
}

extension PGDecodable {
    public static var postgresNull: Self? { nil }
}

/// An encodable type that also has a PostgreSQL array type, so `[Self]` can be a parameter.
///
/// ```swift
/// let ids: [Int64] = [1, 2, 3]
/// let rows = try await connection.query("SELECT * FROM t WHERE id = ANY(\(ids))")
/// ```
public protocol PGArrayElement: PGEncodable {
    /// The array type whose elements are `postgresType`.
    static var postgresArrayType: PGDataType { get }
}

extension Optional: PGEncodable where Wrapped: PGEncodable {
    public static var postgresType: PGDataType { Wrapped.postgresType }
    public func encode(into writer: inout PGBinaryWriter) { self?.encode(into: &writer) }
    public var isPostgresNull: Bool { self == nil }
}

extension Optional: PGArrayElement where Wrapped: PGArrayElement {
    public static var postgresArrayType: PGDataType { Wrapped.postgresArrayType }
}

extension Optional: PGDecodable where Wrapped: PGDecodable {
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> Wrapped?
    {
        try Wrapped.decode(from: &reader, type: type)
    }
    public static var postgresNull: Wrapped?? { .some(nil) }
}

extension Array: PGEncodable where Element: PGArrayElement {
    public static var postgresType: PGDataType { Element.postgresArrayType }

    public func encode(into writer: inout PGBinaryWriter) {
        // One dimension; `has nulls` flag; element type; length; lower bound 1; then each element.
        writer.writeInteger(Int32(1))
        writer.writeInteger(Int32(contains { $0.isPostgresNull } ? 1 : 0))
        writer.writeInteger(Int32(bitPattern: Element.postgresType.oid))
        writer.writeInteger(Int32(count))
        writer.writeInteger(Int32(1))
        for element in self {
            if element.isPostgresNull {
                writer.writeInteger(Int32(-1))
            } else {
                writer.writeLengthPrefixed { element.encode(into: &$0) }
            }
        }
    }
}

extension Array: PGDecodable where Element: PGDecodable {
    public static func decode(from reader: inout PGBinaryReader, type: PGDataType)
        throws(PGDecodingFailure) -> [Element]
    {
        // A scalar's bytes may happen to look like an array header: refuse by type first.
        guard !type.isKnownScalar else { throw .init("cannot decode \(type) as an array") }
        let dimensions = try reader.readInteger(as: Int32.self)
        _ = try reader.readInteger(as: Int32.self)  // has-nulls flag
        let elementType = PGDataType(oid: UInt32(bitPattern: try reader.readInteger(as: Int32.self)))
        if dimensions == 0 { return [] }
        guard dimensions == 1 else { throw .init("only one-dimensional arrays decode to Swift arrays") }
        let count = try reader.readInteger(as: Int32.self)
        _ = try reader.readInteger(as: Int32.self)  // lower bound
        // Every element takes at least its 4-byte length: a count the bytes cannot hold is
        // refused before any memory is reserved for it.
        guard count >= 0, Int(count) <= reader.remaining / 4 else {
            throw .init("the array claims \(count) elements but holds \(reader.remaining) bytes")
        }
        var result: [Element] = []
        result.reserveCapacity(Int(count))
        for _ in 0..<count {
            let length = try reader.readInteger(as: Int32.self)
            if length < 0 {
                guard let null = Element.postgresNull else {
                    throw .init("array holds NULL; decode as an array of optionals")
                }
                result.append(null)
            } else {
                var elementReader = PGBinaryReader(try reader.readBytes(Int(length)))
                result.append(try Element.decode(from: &elementReader, type: elementType))
            }
        }
        return result
    }
}
