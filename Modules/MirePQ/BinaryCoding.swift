import Foundation

/// Appends PostgreSQL binary-format values (big-endian) to a byte array.
public struct PGBinaryWriter: Sendable {
    /// The bytes written so far.
    public internal(set) var bytes: [UInt8] = []

    /// An empty writer.
    ///
    /// ```swift
    /// var writer = PGBinaryWriter()
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

    /// Writes the bytes of `data` in one copy (appending `Data` as a sequence goes byte by byte).
    mutating func writeBytes(_ data: Data) {
        data.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// Writes a 4-byte length, then what `body` writes, then goes back to fill the length in
    /// (array elements, without a writer per element).
    mutating func writeLengthPrefixed(_ body: (inout PGBinaryWriter) -> Void) {
        let start = bytes.count
        writeInteger(Int32(0))
        body(&self)
        let length = Int32(clamping: bytes.count - start - 4)
        withUnsafeBytes(of: length.bigEndian) { bytes.replaceSubrange(start..<(start + 4), with: $0) }
    }
}

/// Reads PostgreSQL binary-format values from one column's bytes.
public struct PGBinaryReader {
    let buffer: UnsafeRawBufferPointer
    var offset = 0

    /// A reader over `buffer`, which must outlive it.
    ///
    /// ```swift
    /// var reader = PGBinaryReader(buffer)
    /// let n: Int32 = try reader.readInteger()
    /// ```
    public init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// Bytes not read yet.
    public var remaining: Int { buffer.count - offset }

    /// Reads a fixed-width big-endian integer.
    public mutating func readInteger<I: FixedWidthInteger>(as: I.Type = I.self) throws(PGDecodingFailure) -> I {
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
    public mutating func readBytes(_ count: Int) throws(PGDecodingFailure) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw .init("expected \(count) bytes, found \(remaining)") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }
}

/// Why a single value could not be decoded; wrapped into a ``PGError`` naming the column.
public struct PGDecodingFailure: Error, Sendable {
    /// What did not fit.
    public var reason: String

    /// A failure with a reason.
    ///
    /// ```swift
    /// throw PGDecodingFailure("expected 8 bytes, found 4")
    /// ```
    public init(_ reason: String) { self.reason = reason }
}
