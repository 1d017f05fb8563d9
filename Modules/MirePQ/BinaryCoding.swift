/// Appends PostgreSQL binary-format values (big-endian) to a byte array.
public struct PostgresBinaryWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer.
    ///
    /// ```swift
    /// var writer = PostgresBinaryWriter()
    /// writer.writeInteger(Int32(7))
    /// ```
    public init() {}

    /// Writes a fixed-width integer in network byte order.
    public mutating func writeInteger<I: FixedWidthInteger>(_ value: I) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes raw bytes.
    public mutating func writeBytes(_ other: some Sequence<UInt8>) {
        bytes.append(contentsOf: other)
    }
}

/// Reads PostgreSQL binary-format values from one column's bytes.
public struct PostgresBinaryReader {
    let buffer: UnsafeRawBufferPointer
    var offset = 0

    /// A reader over `buffer`, which must outlive it.
    ///
    /// ```swift
    /// var reader = PostgresBinaryReader(buffer)
    /// let n: Int32 = try reader.readInteger()
    /// ```
    public init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// Bytes not read yet.
    public var remaining: Int { buffer.count - offset }

    /// Reads a fixed-width big-endian integer.
    public mutating func readInteger<I: FixedWidthInteger>(as: I.Type = I.self) throws(PostgresDecodingFailure) -> I {
        let size = MemoryLayout<I>.size
        guard remaining >= size else { throw .init("expected \(size) bytes, found \(remaining)") }
        var value = I.zero
        withUnsafeMutableBytes(of: &value) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + size]))
        }
        offset += size
        return I(bigEndian: value)
    }

    /// Reads `count` raw bytes.
    public mutating func readBytes(_ count: Int) throws(PostgresDecodingFailure) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw .init("expected \(count) bytes, found \(remaining)") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }
}

/// Why a single value could not be decoded; wrapped into a ``PostgresError`` naming the column.
public struct PostgresDecodingFailure: Error, Sendable {
    /// What did not fit.
    public var reason: String

    /// A failure with a reason.
    ///
    /// ```swift
    /// throw PostgresDecodingFailure("expected 8 bytes, found 4")
    /// ```
    public init(_ reason: String) { self.reason = reason }
}
