// libFuzzer target: the driver's binary decoders over hostile server bytes. The first input byte
// picks a Swift type and the server type the row claims; the rest is the value. Every input must
// end in a value or a PGDecodingFailure, never a trap or an out-of-bounds read; a decoded
// value must encode and decode back to itself. Built by Fuzz/run.
import Foundation

struct Case: Sendable {
    let type: PGDataType
    let check: @Sendable (UnsafeRawBufferPointer, PGDataType) -> Void
}

func roundTrip<T: PGDecodable & PGEncodable & Equatable>(_: T.Type)
    -> @Sendable (
        UnsafeRawBufferPointer, PGDataType
    ) -> Void
{
    { bytes, type in
        var reader = PGBinaryReader(bytes)
        guard let value = try? T.decode(from: &reader, type: type) else { return }
        var writer = PGBinaryWriter()
        value.encode(into: &writer)
        let again = writer.bytes.withUnsafeBytes { encoded -> T? in
            var reader = PGBinaryReader(encoded)
            return try? T.decode(from: &reader, type: T.postgresType)
        }
        precondition(again == value, "\(T.self) does not survive encode → decode")
    }
}

func decodeOnly<T: PGDecodable>(_: T.Type) -> @Sendable (UnsafeRawBufferPointer, PGDataType) -> Void {
    { bytes, type in
        var reader = PGBinaryReader(bytes)
        _ = try? T.decode(from: &reader, type: type)
    }
}

let cases: [Case] = [
    Case(type: .bool, check: roundTrip(Bool.self)),
    Case(type: .int2, check: roundTrip(Int16.self)),
    Case(type: .int4, check: roundTrip(Int32.self)),
    Case(type: .int8, check: roundTrip(Int64.self)),
    Case(type: .int4, check: roundTrip(Int.self)),
    Case(type: .float8, check: decodeOnly(Double.self)),  // NaN != NaN
    Case(type: .float4, check: decodeOnly(Double.self)),
    Case(type: .text, check: roundTrip(String.self)),
    Case(type: .uuid, check: roundTrip(UUID.self)),
    Case(type: .bytea, check: roundTrip(Data.self)),
    Case(type: .timestamptz, check: decodeOnly(Date.self)),
    Case(type: .jsonb, check: roundTrip(PGJSONB.self)),
    Case(type: .json, check: roundTrip(PGJSON.self)),
    Case(type: .xid8, check: roundTrip(PGTransactionID.self)),
    Case(type: .int8Array, check: roundTrip([Int64].self)),
    Case(type: .textArray, check: roundTrip([String?].self)),
    Case(type: .uuidArray, check: roundTrip([UUID].self)),
    Case(type: .boolArray, check: roundTrip([Bool].self)),
    Case(type: .jsonbArray, check: roundTrip([PGJSONB].self)),
    Case(type: .timestamptzArray, check: decodeOnly([Date].self)),
    Case(type: .float8Array, check: decodeOnly([Double?].self)),
    Case(type: .byteaArray, check: roundTrip([Data].self)),
    Case(type: .int4Array, check: decodeOnly([[Int32]].self)),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let chosen = cases[Int(input[0]) % cases.count]
    // Half the time the row claims another type than the decoder expects.
    let claimed = input[0] >= 128 ? cases[Int(input[0] / 2) % cases.count].type : chosen.type
    chosen.check(UnsafeRawBufferPointer(rebasing: input[1...]), claimed)
    return 0
}
