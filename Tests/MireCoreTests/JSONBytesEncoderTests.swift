import Foundation
import MireCore
import Testing

/// JSONBytesEncoder against Foundation's JSONEncoder: the same JSON up to key order (numbers
/// and strings byte for byte), the same errors, and values that decode back equal.
@Suite("JSON bytes encoder")
struct JSONBytesEncoderTests {
    /// Expects both encoders to write the same JSON up to key order, or throw the same error.
    private func expectSame<T: Encodable>(
        _ value: T, _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let expected = EncodeOutcome { try JSONEncoder().encode(value) }
        let actual = EncodeOutcome { try JSONBytesEncoder().encodeData(value) }
        #expect(actual == expected, "\(T.self) \(label)", sourceLocation: sourceLocation)
    }

    /// ``expectSame(_:_:sourceLocation:)``, and both outputs decode, with JSONDecoder and with
    /// JSONBytesDecoder, to values equal to each other and to `value`.
    private func expectRoundTrip<T: Codable & Equatable>(
        _ value: T, _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectSame(value, label, sourceLocation: sourceLocation)
        do {
            let ours = try JSONBytesEncoder().encodeData(value)
            let theirs = try JSONEncoder().encode(value)
            let decoded = try JSONDecoder().decode(T.self, from: ours)
            #expect(decoded == value, "\(T.self) \(label)", sourceLocation: sourceLocation)
            #expect(decoded == (try JSONDecoder().decode(T.self, from: theirs)), sourceLocation: sourceLocation)
            #expect((try JSONBytesDecoder().decode(T.self, from: ours)) == value, sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(T.self) \(label): \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Expects the exact bytes JSONEncoder writes (for values without objects of several keys).
    private func expectSameBytes<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = try? JSONEncoder().encode(value)
        let actual = try? JSONBytesEncoder().encode(value)
        #expect(
            actual.map { Data($0) } == expected,
            "\(value): \(actual.map { String(decoding: $0, as: UTF8.self) } ?? "-")",
            sourceLocation: sourceLocation)
    }

    // MARK: Differential table

    @Test func differentialTable() {
        let money = Money(amount: -900, currency: .euro)
        let entry = Entry(id: 1, label: "rent / May \"x\"", money: money, flags: [true, false], ratio: 0.25)
        expectRoundTrip(money)
        expectRoundTrip(entry)
        expectRoundTrip(Entry(id: -1, label: "", money: money, flags: [], ratio: nil))
        expectRoundTrip(
            Ledger(
                owner: "Zoë", entries: [entry, entry], balances: ["a": 1, "b/c": -2, "": 0],
                limits: [1: 2.5, -3: 0, 7: 1e-7], opened: Date(timeIntervalSinceReferenceDate: 12_345.678),
                tags: ["x", "y", "z"], nested: [[1, 2], [], [-128, 127]]))
        expectRoundTrip(
            Scalars(
                bool: true, string: "s", int: .min, int8: .min, int16: .min, int32: .min, int64: .min, uint: .max,
                uint8: .max, uint16: .max, uint32: .max, uint64: .max, double: -0.0, float: .leastNonzeroMagnitude))
        expectRoundTrip(
            Scalars(
                bool: false, string: "", int: .max, int8: .max, int16: .max, int32: .max, int64: .max, uint: 0,
                uint8: 0, uint16: 0, uint32: 0, uint64: 0, double: .greatestFiniteMagnitude,
                float: .greatestFiniteMagnitude))
        expectRoundTrip(Optionals())
        expectRoundTrip(
            Optionals(
                bool: false, string: "", int: 0, uint8: 255, double: 0.1, float: 0.1, money: money, list: [1, nil, 3]))
        expectRoundTrip(
            Foundations(
                date: Date(timeIntervalSinceReferenceDate: -1.5), data: Data([0, 1, 2, 250, 251, 252, 253, 254, 255]),
                url: URL(string: "https://example.com/a/b?c=d&e=%20#f")!,
                uuid: UUID(uuidString: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F")!,
                decimal: Decimal(string: "12.50")!, maybeDate: nil, maybeData: Data(), maybeURL: URL(string: "a/b")))
        expectRoundTrip(Wide(int128: .min, uint128: .max))
        expectRoundTrip(Wide(int128: .max, uint128: 0))
        for event in [
            AccountEvent.opened(owner: "Zoë"), .deposited(amount: 30), .withdrawn(amount: .min),
            .transferredOut(amount: 5, to: "acc/2"), .closed, .credited(-7), .tagged("a", note: nil),
            .tagged("b", note: "n"),
        ] {
            expectRoundTrip(event, "\(event)")
        }
        for event in [
            ShapeEvent.empty, .labelled(amount: 1, note: nil), .labelled(amount: -1, note: "x"), .unlabelled(1, "y"),
            .mixed(2, label: "z"), .nested(money, [1, 2]), .date(Date(timeIntervalSinceReferenceDate: 0.5)),
        ] {
            expectRoundTrip(event, "\(event)")
        }
        // Top-level leaves, collections and dictionaries of every key kind.
        expectRoundTrip(42)
        expectRoundTrip("top")
        expectRoundTrip(true)
        expectRoundTrip(1.5)
        expectRoundTrip(Int?.none)
        expectRoundTrip([Int?.none, 1])
        expectRoundTrip([Int]())
        expectRoundTrip([String: Int]())
        expectRoundTrip([[String: [Int]]](repeating: ["k": [1]], count: 3))
        expectRoundTrip([1: "a", -2: "b", 0: "c"])
        expectRoundTrip([1.5: "a", -2.5: "b"])
        expectRoundTrip([true: 1])
        expectRoundTrip(["a": Money(amount: 1, currency: .pound)])
        expectRoundTrip(Set(["p", "q"]))
        expectRoundTrip([Date(timeIntervalSince1970: 0), Date(timeIntervalSinceReferenceDate: 1e9)])
        expectRoundTrip([Decimal(string: "-0")!, Decimal(string: "1e30")!, Decimal(string: "0.000001")!, 3])
        expectRoundTrip([URL(string: "http://[::1]:80/")!])
        expectRoundTrip(Data("hello".utf8))
        expectRoundTrip(UUID(uuidString: "00000000-0000-0000-0000-000000000000")!)
    }

    // MARK: Strings

    @Test func escapingMatchesJSONEncoderByteForByte() {
        for scalar in 0...0x7F {
            let string = "a\(Character(Unicode.Scalar(UInt8(scalar))))b"
            expectSameBytes(string)
            expectSameBytes([string])
            expectSameBytes([string: 1])
        }
        let samples = [
            "", "/", "//", "\"", "\\", "\\/\"", "http://example.com/a/b", "😀", "a😀b", "\u{10FFFF}", "é", "e\u{301}",
            "日本語", "\u{2028}\u{2029}", "\u{FEFF}", "\u{7F}\u{80}\u{9F}", String(repeating: "x/\"\u{1}é", count: 40),
            String(repeating: "abcdefgh", count: 9) + "\n", "1234567/", "12345678/", "123456789/", "\u{0}\u{1F}",
        ]
        for sample in samples {
            expectSameBytes(sample)
            expectRoundTrip(sample)
            expectRoundTrip([sample: sample])
        }
    }

    // MARK: Numbers

    @Test func floatingPointMatchesJSONEncoderByteForByte() {
        let doubles: [Double] = [
            0, -0.0, 1, -1, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 1e-300, 1.7976931348623157e308, -1.7976931348623157e308,
            2.2250738585072014e-308, 1e-5, 1e-4, 1e15, 1e16, 1e21, 1e22, 1e23, 123_456_789.125, 0.5, 100, -100,
            9_007_199_254_740_991, 9_007_199_254_740_992, 9_007_199_254_740_994, 18_014_398_509_481_984,
            -9_007_199_254_740_992,
            4_503_599_627_370_495.5, 3.141592653589793, 2.718281828459045, 1e300, 1.5e-10, -2.5e-7, 65_536,
            4_294_967_296,
            Double(Int64.max), Double(UInt64.max), .ulpOfOne, .leastNormalMagnitude, .leastNonzeroMagnitude,
        ]
        for double in doubles {
            expectSameBytes(double)
            expectSameBytes([double, -double])
            expectRoundTrip(double)
        }
        let floats: [Float] = [
            0, -0.0, 1, 0.1, 1.0 / 3, 16_777_215, 16_777_216, 16_777_218, 33_554_432, 8_388_608.5, 1e7, 9_999_999, 1e8,
            1e10, 3.4028235e38, .leastNonzeroMagnitude, .leastNormalMagnitude, -2.5, 1e-5, 123.456,
        ]
        for float in floats {
            expectSameBytes(float)
            expectSameBytes([float, -float])
            expectRoundTrip(float)
        }
        // Zeros keep their sign through both decoders.
        for zero in [0.0, -0.0] {
            let decoded = try? JSONBytesDecoder().decode(Double.self, from: JSONBytesEncoder().encode(zero))
            #expect(decoded?.sign == zero.sign)
        }
        // Integral values near the switch to exponents, and random bit patterns.
        var generator = SplitMix64(state: 0x5EED)
        for exponent in 0...64 {
            let base = Double(sign: .plus, exponent: exponent, significand: 1)
            for offset in -3...3 { expectSameBytes(base + Double(offset)) }
        }
        for _ in 0..<3_000 {
            let double = Double(bitPattern: generator.next())
            if double.isFinite { expectSameBytes(double) }
            let float = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
            if float.isFinite { expectSameBytes(float) }
        }
    }

    @Test func integersMatchJSONEncoderByteForByte() {
        expectSameBytes([Int64.min, Int64.max, -1, 0, 1, 9, 10, 99, 100, 1_000_000_007])
        expectSameBytes([UInt64.max, 0, 18_446_744_073_709_551_614])
        expectSameBytes([Int8.min, Int8.max])
        expectSameBytes([Int16.min, Int16.max])
        expectSameBytes([Int32.min, Int32.max])
        expectSameBytes([UInt8.max])
        expectSameBytes([UInt16.max])
        expectSameBytes([UInt32.max])
        expectSameBytes([Int.min, Int.max])
        expectSameBytes([UInt.max])
        expectSameBytes([Int128.min, Int128.max, 0])
        expectSameBytes([UInt128.max])
        var generator = SplitMix64(state: 77)
        for _ in 0..<2_000 {
            let bits = generator.next()
            expectSameBytes(Int64(bitPattern: bits) >> (bits % 64))
            expectSameBytes(bits >> (bits % 64))
        }
    }

    // MARK: Containers

    @Test func nestedContainersAndSuperEncoders() {
        expectSame(Truck())
        expectSame(Bus())
        expectSame([Truck(), Truck()])
        // Nested containers, paths seen by nested values (JSONEncoder leaves nested containers'
        // keys out of them), superEncoder(forKey:), an unkeyed superEncoder, empty ones.
        expectSame(
            Scripted { encoder in
                var top = encoder.container(keyedBy: EncoderKey.self)
                try top.encode(PathReport(), forKey: EncoderKey("path"))
                var nested = top.nestedContainer(keyedBy: EncoderKey.self, forKey: EncoderKey("outer"))
                try nested.encode(PathReport(), forKey: EncoderKey("p"))
                try nested.encode(nested.codingPath.map(\.stringValue).joined(separator: "."), forKey: EncoderKey("cp"))
                var list = nested.nestedUnkeyedContainer(forKey: EncoderKey("list"))
                try list.encode(PathReport())
                try list.encode(list.codingPath.map(\.stringValue).joined(separator: "."))
                var inner = list.nestedContainer(keyedBy: EncoderKey.self)
                try inner.encode(PathReport(), forKey: EncoderKey("deep"))
                try inner.encode(inner.codingPath.map(\.stringValue).joined(separator: "."), forKey: EncoderKey("ip"))
                var innerList = list.nestedUnkeyedContainer()
                try innerList.encodeNil()
                try list.encode(list.count)
                try PathReport().encode(to: top.superEncoder(forKey: EncoderKey("sup")))
                _ = top.superEncoder()
                var array = top.nestedUnkeyedContainer(forKey: EncoderKey("array"))
                try array.encode(1)
                try "s".encode(to: array.superEncoder())
                try array.encode(3)
                _ = array.superEncoder()
                try array.encode(PathReport())
            })
        // A single value that is a struct, then a keyed container: JSONEncoder merges them.
        expectSame(
            Scripted { encoder in
                var single = encoder.singleValueContainer()
                try single.encode(Money(amount: 1, currency: .euro))
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                try keyed.encode("x", forKey: EncoderKey("extra"))
            })
        // Values that write nothing: {} inside, an error at the top.
        expectSame([Scripted { _ in }])
        expectSame(["k": Scripted { _ in }])
        expectSame(Scripted { _ in })
        expectSame(
            Scripted { encoder in
                var single = encoder.singleValueContainer()
                try single.encode(Scripted { _ in })
            })
        // Super encoders used as single values and as encoders of nested values.
        expectSame(
            Scripted { encoder in
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                var single = keyed.superEncoder(forKey: EncoderKey("a")).singleValueContainer()
                try single.encode(
                    Entry(id: 1, label: "l", money: Money(amount: 1, currency: .euro), flags: [], ratio: nil))
                try Truck().encode(to: keyed.superEncoder(forKey: EncoderKey("b")))
                var unkeyed = keyed.superEncoder(forKey: EncoderKey("c")).unkeyedContainer()
                try unkeyed.encode(true)
            })
    }

    @Test func usesStreamingCannotFollowGoToJSONEncoder() {
        // A key written twice: JSONEncoder keeps the last value.
        expectSame(
            Scripted { encoder in
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                try keyed.encode(1, forKey: EncoderKey("a"))
                try keyed.encode("two", forKey: EncoderKey("a"))
            })
        // Twice in a large object, and nested keyed containers reopened (merged).
        expectSame(
            Scripted { encoder in
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                for index in 0..<40 { try keyed.encode(index, forKey: EncoderKey("k\(index)")) }
                try keyed.encode(-1, forKey: EncoderKey("k7"))
                var first = keyed.nestedContainer(keyedBy: EncoderKey.self, forKey: EncoderKey("o"))
                try first.encode(1, forKey: EncoderKey("x"))
                var again = keyed.nestedContainer(keyedBy: EncoderKey.self, forKey: EncoderKey("o"))
                try again.encode(2, forKey: EncoderKey("y"))
            })
        // Writing through a nested container after its parent moved on.
        expectSame(
            Scripted { encoder in
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                var nested = keyed.nestedContainer(keyedBy: EncoderKey.self, forKey: EncoderKey("o"))
                try keyed.encode(5, forKey: EncoderKey("z"))
                try nested.encode(1, forKey: EncoderKey("a"))
                var list = keyed.nestedUnkeyedContainer(forKey: EncoderKey("l"))
                var other = keyed.nestedUnkeyedContainer(forKey: EncoderKey("m"))
                try list.encode(1)
                try other.encode(2)
            })
        // A super encoder used after its container moved on: JSONEncoder inserts its value
        // where it was reserved.
        expectSame(
            Scripted { encoder in
                var list = encoder.unkeyedContainer()
                try list.encode(1)
                let superEncoder = list.superEncoder()
                try list.encode(2)
                try 3.encode(to: superEncoder)
            })
        expectSame(
            Scripted { encoder in
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                let superEncoder = keyed.superEncoder()
                try keyed.encode(2, forKey: EncoderKey("super"))
                try 3.encode(to: superEncoder)
            })
        // An error caught inside encode(to:) and gone on from: the member is left out.
        expectSame(
            Scripted { encoder in
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                try? keyed.encode(Double.nan, forKey: EncoderKey("a"))
                try? keyed.encode([1, Double.infinity], forKey: EncoderKey("b"))
                try keyed.encode(1, forKey: EncoderKey("c"))
            })
        // (JSONEncoder traps on this one: it reuses the failed element's encoder.)
        let caughtInArray = Scripted { encoder in
            var keyed = encoder.container(keyedBy: EncoderKey.self)
            try keyed.encode(1, forKey: EncoderKey("c"))
            try? keyed.encode(["x": [1, Double.infinity]], forKey: EncoderKey("b"))
            var list = keyed.nestedUnkeyedContainer(forKey: EncoderKey("d"))
            try? list.encode(Entry(id: 1, label: "", money: Money(amount: 1, currency: .euro), flags: [], ratio: .nan))
            try list.encode(2)
            var single = keyed.superEncoder(forKey: EncoderKey("e")).singleValueContainer()
            try? single.encode(
                Entry(id: 1, label: "", money: Money(amount: 1, currency: .euro), flags: [], ratio: .nan))
            try single.encode("after")
        }
        #expect(
            (try? JSONBytesEncoder().encode(caughtInArray)).map { String(decoding: $0, as: UTF8.self) }
                == #"{"c":1,"d":[2],"e":"after"}"#)
    }

    @Test func usesThatTrapJSONEncoderAreRefused() throws {
        // JSONEncoder stops the process on each of these; they must throw here.
        let misuses: [Scripted] = [
            Scripted { encoder in
                var single = encoder.singleValueContainer()
                try single.encode(1)
                try single.encode(2)
            },
            Scripted { encoder in
                _ = encoder.unkeyedContainer()
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                try keyed.encode(1, forKey: EncoderKey("a"))
            },
            Scripted { encoder in
                _ = encoder.container(keyedBy: EncoderKey.self)
                var list = encoder.unkeyedContainer()
                try list.encode(1)
            },
            Scripted { encoder in
                var single = encoder.singleValueContainer()
                try single.encode("x")
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                try keyed.encode(1, forKey: EncoderKey("a"))
            },
            Scripted { encoder in
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                try keyed.encode(1, forKey: EncoderKey("a"))
                var nested = keyed.nestedContainer(keyedBy: EncoderKey.self, forKey: EncoderKey("a"))
                try nested.encode(2, forKey: EncoderKey("b"))
            },
            Scripted { encoder in
                var keyed = encoder.container(keyedBy: EncoderKey.self)
                _ = keyed.nestedContainer(keyedBy: EncoderKey.self, forKey: EncoderKey("a"))
                var list = keyed.nestedUnkeyedContainer(forKey: EncoderKey("a"))
                try list.encode(1)
            },
        ]
        for (index, misuse) in misuses.enumerated() {
            #expect(throws: EncodingError.self, "misuse \(index)") { try JSONBytesEncoder().encode(misuse) }
            // Caught by the value's own code, the refusal still stands.
            let swallowed = Scripted { encoder in try? misuse.encode(to: encoder) }
            #expect(throws: EncodingError.self, "swallowed misuse \(index)") {
                try JSONBytesEncoder().encode(swallowed)
            }
        }
        // The encoder is clean afterwards.
        #expect(try JSONBytesEncoder().encode([1, 2]) == Array("[1,2]".utf8))
    }

    // MARK: Errors

    @Test func nonFiniteFloatsThrowJSONEncodersError() {
        for double in [Double.nan, .infinity, -.infinity, .signalingNaN] {
            expectSame(double)
            expectSame([1, double])
            expectSame(["k": double])
            expectSame(Optionals(double: double))
            expectSame(Entry(id: 1, label: "", money: Money(amount: 1, currency: .euro), flags: [], ratio: double))
            expectSame([Entry(id: 1, label: "", money: Money(amount: 1, currency: .euro), flags: [], ratio: double)])
            expectSame(Date(timeIntervalSinceReferenceDate: double))
            expectSame(ShapeEvent.date(Date(timeIntervalSinceReferenceDate: double)))
            expectSame(Scripted { encoder in try double.encode(to: encoder) })
            expectSame(
                Scripted { encoder in
                    var keyed = encoder.container(keyedBy: EncoderKey.self)
                    var nested = keyed.nestedContainer(keyedBy: EncoderKey.self, forKey: EncoderKey("outer"))
                    try nested.encode([["x": double]], forKey: EncoderKey("inner"))
                })
            expectSame(Truck().with(load: double))
        }
        for float in [Float.nan, .infinity, -.infinity] {
            expectSame(float)
            expectSame([float])
            expectSame(Optionals(float: float))
        }
    }

    @Test func emptyTopLevelValueThrowsJSONEncodersError() {
        expectSame(Scripted { _ in })
    }

    @Test func decimalNaNIsRefused() {
        // JSONEncoder writes the bare word NaN, which no JSON reader accepts.
        #expect(throws: EncodingError.self) { try JSONBytesEncoder().encode(Decimal.nan) }
        #expect(throws: EncodingError.self) { try JSONBytesEncoder().encode(["d": Decimal.nan]) }
    }

    @Test func nestingIsLimitedAsInJSONEncoder() {
        for depth in [1, 100, 510, 511] {
            expectSame(NestedArrays(depth: depth), "depth \(depth)")
        }
        for depth in [512, 513, 10_000] {
            // JSONEncoder refuses these too (its message names no reason or path).
            #expect(throws: EncodingError.self, "depth \(depth)") {
                try JSONBytesEncoder().encode(NestedArrays(depth: depth))
            }
        }
        #expect(throws: EncodingError.self) { try JSONEncoder().encode(NestedArrays(depth: 512)) }
        do {
            _ = try JSONBytesEncoder().encode(NestedArrays(depth: 600))
        } catch let EncodingError.invalidValue(_, context) {
            #expect(context.debugDescription.contains("512"))
            // The 512th array, inside 511 others.
            #expect(context.codingPath.count == 511)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    // MARK: Enum cases

    @Test func enumCasesSplitIntoNameAndPayload() throws {
        let encoder = JSONBytesEncoder()
        let cases: [(ShapeEvent, String)] = [
            (.empty, "empty"), (.labelled(amount: 5, note: nil), "labelled"),
            (.labelled(amount: 5, note: "n/"), "labelled"),
            (.unlabelled(1, "x"), "unlabelled"), (.mixed(1, label: "y"), "mixed"),
            (.nested(Money(amount: 1, currency: .pound), []), "nested"),
        ]
        for (event, name) in cases {
            let (caseName, payload) = try encoder.encodeEnumCase(event)
            #expect(caseName == name)
            // The payload is JSONEncoder's value for the case, and decodes back.
            let whole = try JSONEncoder().encode(event)
            let wrapped = Array("{\"\(name)\":".utf8) + payload + Array("}".utf8)
            #expect(CanonicalJSON.text(wrapped) == CanonicalJSON.text(whole))
            #expect(try JSONBytesDecoder().decode(ShapeEvent.self, caseName: caseName, payload: Data(payload)) == event)
            let (dataName, dataPayload) = try encoder.encodeEnumCaseData(event)
            #expect(dataName == name && dataPayload == Data(payload))
        }
        #expect(try encoder.encodeEnumCase(ShapeEvent.empty).payload == Array("{}".utf8))
        #expect(try encoder.encodeEnumCase(ShapeEvent.unlabelled(1, "x")).payload == Array(#"{"_0":1,"_1":"x"}"#.utf8))
        #expect(try encoder.encodeEnumCase(AccountEvent.deposited(amount: 30)).payload == Array(#"{"amount":30}"#.utf8))
        // Not one key: a typed error.
        for value in [
            Scripted { try 1.encode(to: $0) }, Scripted { try [1].encode(to: $0) },
            Scripted { try [String: Int]().encode(to: $0) },
        ] {
            #expect(throws: JSONNotOneKeyObject.self) { try encoder.encodeEnumCase(value) }
        }
        #expect(throws: JSONNotOneKeyObject.self) { try encoder.encodeEnumCase(Money(amount: 1, currency: .euro)) }
        // Values JSONEncoder encodes (a key written twice) are split from its output.
        let twice = Scripted { encoder in
            var keyed = encoder.container(keyedBy: EncoderKey.self)
            try keyed.encode(1, forKey: EncoderKey("case/name"))
            try keyed.encode(["a": 2], forKey: EncoderKey("case/name"))
        }
        let (name, payload) = try encoder.encodeEnumCase(twice)
        #expect(name == "case/name" && payload == Array(#"{"a":2}"#.utf8))
        // Errors are JSONEncoder's.
        #expect(throws: EncodingError.self) {
            try encoder.encodeEnumCase(ShapeEvent.date(Date(timeIntervalSinceReferenceDate: .nan)))
        }
    }

    // MARK: Random values

    @Test func randomValuesMatchJSONEncoderAndRoundTrip() {
        var generator = SplitMix64(state: 0xC0DEC)
        func string() -> String {
            let alphabet: [Unicode.Scalar] = [
                "a", "z", "A", "0", " ", "/", "\\", "\"", "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}",
                "\u{1F}", "\u{7F}", "é", "\u{301}", "日", "😀", "\u{10FFFF}", "\u{2028}",
            ]
            let count = Int(generator.next() % 24)
            var result = String.UnicodeScalarView()
            for _ in 0..<count { result.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            return String(result)
        }
        func double() -> Double {
            switch generator.next() % 4 {
            case 0: return Double(Int64(bitPattern: generator.next()) % 1_000_000)
            case 1: return Double(generator.next() % 1_000_000) / 1000
            default:
                let value = Double(bitPattern: generator.next())
                return value.isFinite ? value : 0
            }
        }
        func money() -> Money {
            Money(amount: Int64(bitPattern: generator.next()), currency: generator.next() % 2 == 0 ? .euro : .pound)
        }
        func entry() -> Entry {
            Entry(
                id: Int(truncatingIfNeeded: generator.next()), label: string(), money: money(),
                flags: (0..<Int(generator.next() % 4)).map { _ in generator.next() % 2 == 0 },
                ratio: generator.next() % 3 == 0 ? nil : double())
        }
        for round in 0..<300 {
            let ledger = Ledger(
                owner: string(), entries: (0..<Int(generator.next() % 5)).map { _ in entry() },
                balances: Dictionary(
                    (0..<Int(generator.next() % 6)).map { _ in (string(), Int64(bitPattern: generator.next())) },
                    uniquingKeysWith: { first, _ in first }),
                limits: Dictionary(
                    (0..<Int(generator.next() % 4)).map { _ in (Int(truncatingIfNeeded: generator.next()), double()) },
                    uniquingKeysWith: { first, _ in first }),
                opened: Date(timeIntervalSinceReferenceDate: double()), tags: Set((0..<3).map { _ in string() }),
                nested: [(0..<Int(generator.next() % 5)).map { _ in Int8(truncatingIfNeeded: generator.next()) }])
            expectRoundTrip(ledger, "round \(round)")
            let event: ShapeEvent =
                switch generator.next() % 6 {
                case 0: .empty
                case 1:
                    .labelled(
                        amount: Int64(bitPattern: generator.next()), note: generator.next() % 2 == 0 ? nil : string())
                case 2: .unlabelled(Int(truncatingIfNeeded: generator.next()), string())
                case 3: .mixed(Int(truncatingIfNeeded: generator.next()), label: string())
                case 4: .nested(money(), [Int(truncatingIfNeeded: generator.next())])
                default: .date(Date(timeIntervalSinceReferenceDate: double()))
                }
            expectRoundTrip(event, "round \(round)")
        }
    }

    // MARK: The pool

    @Test func concurrentEncodesShareThePoolSafely() async throws {
        let events = (0..<300).map {
            ShapeEvent.labelled(amount: Int64($0), note: String(repeating: "n", count: $0 % 40))
        }
        let expected = try events.map { try JSONBytesEncoder().encodeEnumCase($0).payload }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try events.indices.allSatisfy {
                        try JSONBytesEncoder().encodeEnumCase(events[$0]).payload == expected[$0]
                    }
                }
            }
            for try await same in group { #expect(same) }
        }
    }

    @Test func encodersKeptByValuesAreNotReused() throws {
        final class Thief: Encodable {
            var stolen: (any Encoder)?
            func encode(to encoder: any Encoder) throws {
                stolen = encoder
                var single = encoder.singleValueContainer()
                try single.encode("taken")
            }
        }
        let thief = Thief()
        #expect(try JSONBytesEncoder().encode(thief) == Array(#""taken""#.utf8))
        #expect(try JSONBytesEncoder().encode(["a": 1]) == Array(#"{"a":1}"#.utf8))
        #expect(thief.stolen != nil)
    }
}

extension Truck {
    fileprivate func with(load: Double) -> Truck {
        self.load = load
        return self
    }
}
