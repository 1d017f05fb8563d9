import Foundation
import Testing

@testable import MirePQ

/// Values the server (or anything in between) sends are untrusted input: the binary decoders
/// refuse malformed ones with a `PGDecodingFailure`, without trapping or reserving memory
/// for what the bytes cannot hold. Inputs found by `Fuzz/run row-decoders` are kept here.
@Suite("Hostile binary values")
struct HostileBinaryValueTests {
    /// Decodes `bytes` as `T`, claiming server type `type`.
    func decode<T: PGDecodable>(_: T.Type, _ bytes: [UInt8], as type: PGDataType) throws -> T {
        try bytes.withUnsafeBytes { buffer in
            var reader = PGBinaryReader(buffer)
            return try T.decode(from: &reader, type: type)
        }
    }

    /// An array header: dimensions, has-nulls, element type, count, lower bound.
    func arrayHeader(dimensions: Int32 = 1, element: UInt32 = 20, count: Int32) -> [UInt8] {
        var writer = PGBinaryWriter()
        for value in [dimensions, 0, Int32(bitPattern: element), count, 1] { writer.writeInteger(value) }
        return writer.bytes
    }

    @Test func theFirstFuzzerFindingAnArrayClaimingAHugeCountIsRefused() throws {
        // Fuzz/run row-decoders, out of memory after 36 runs: a one-dimensional int8[] whose count
        // (335,544,320 elements) made the decoder reserve 2.7 GB before reading any element.
        let input = try #require(
            Data(base64Encoded: "DgAAAAEAAAD/AAAAABQAAAACAAAAAQA/AAgAAAAAAAAAAQAAAAgAAAAAAAAAAg=="))
        #expect(throws: PGDecodingFailure.self) {
            try decode([Int64].self, Array(input.dropFirst()), as: .int8Array)
        }
    }

    @Test func aScalarWhoseBytesLookLikeAnArrayIsNotDecodedAsOne() throws {
        // Review finding: an array decoder did not look at the column's type, so a bytea holding
        // an array header decoded as [Int64].
        var bytes = arrayHeader(count: 1)
        var element = PGBinaryWriter()
        element.writeInteger(Int32(8))
        element.writeInteger(Int64(42))
        bytes += element.bytes
        #expect(try decode([Int64].self, bytes, as: .int8Array) == [42])
        for scalar in [PGDataType.bytea, .text, .jsonb, .int8] {
            #expect(throws: PGDecodingFailure.self) { try decode([Int64].self, bytes, as: scalar) }
        }
    }

    @Test(arguments: [Int32.max, -1, Int32.min, 3])
    func aCountTheBytesCannotHoldIsRefused(_ count: Int32) {
        // Two elements' worth of bytes, whatever the header claims.
        var bytes = arrayHeader(count: count)
        for value in [Int64(1), 2] {
            var writer = PGBinaryWriter()
            writer.writeInteger(Int32(8))
            writer.writeInteger(value)
            bytes += writer.bytes
        }
        #expect(throws: PGDecodingFailure.self) { try decode([Int64].self, bytes, as: .int8Array) }
    }

    @Test func aWellFormedArrayStillDecodes() throws {
        var bytes = arrayHeader(count: 2)
        for value in [Int64(1), -2] {
            var writer = PGBinaryWriter()
            writer.writeInteger(Int32(8))
            writer.writeInteger(value)
            bytes += writer.bytes
        }
        #expect(try decode([Int64].self, bytes, as: .int8Array) == [1, -2])
        #expect(try decode([Int64].self, arrayHeader(dimensions: 0, count: 0), as: .int8Array) == [])
    }

    @Test(arguments: [Int32(-1), 2, Int32.max])
    func otherDimensionsAreRefused(_ dimensions: Int32) {
        #expect(throws: PGDecodingFailure.self) {
            try decode([Int64].self, arrayHeader(dimensions: dimensions, count: 0), as: .int8Array)
        }
    }

    @Test(arguments: [(1e300, Int64.max), (-1e300, Int64.min), (Double.infinity, Int64.max), (Double.nan, Int64.max)])
    func aDateBeyondInt8MicrosecondsIsInfinityNotATrap(_ seconds: Double, _ wire: Int64) {
        var writer = PGBinaryWriter()
        Date(timeIntervalSince1970: seconds).encode(into: &writer)
        var expected = PGBinaryWriter()
        expected.writeInteger(wire)
        #expect(writer.bytes == expected.bytes)
    }
}
