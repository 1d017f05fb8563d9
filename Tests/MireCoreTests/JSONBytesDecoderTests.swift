import Foundation
import MireCore
import Testing

/// JSONBytesDecoder against Foundation's JSONDecoder: the same values, or the same errors.
@Suite("JSON bytes decoder")
struct JSONBytesDecoderTests {
    /// Expects both decoders to agree on `json` decoded as `type`: equal values, or the same
    /// error case, coding path and message.
    private func expectSame<T: Decodable & Equatable>(
        _ type: T.Type, _ json: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectSame(type, Data(json.utf8), label: json, sourceLocation: sourceLocation)
    }

    private func expectSame<T: Decodable & Equatable>(
        _ type: T.Type, _ data: Data, label: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let (expected, actual, sameValue) = Differential.compare(type, data)
        #expect(actual == expected, "\(T.self) from \(label)", sourceLocation: sourceLocation)
        if expected.isValue { #expect(sameValue, "\(T.self) from \(label)", sourceLocation: sourceLocation) }
    }

    @Test func integers() {
        let inputs = [
            "0", "-0", "1", "-1", "127", "128", "-128", "-129", "255", "256", "300", "-300", "32767", "32768",
            "65535", "65536", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
            "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
            "18446744073709551615", "18446744073709551616", "99999999999999999999999", "1.0", "1.5", "-1.0",
            "1e2", "1E2", "1e+2", "100e-2", "1e-2", "1e-400", "1e400", "0.0", "-0.0", "01", "-01", "00", "1.",
            ".5", "-", "--1", "+1", "1e", "1e+", "1.e3", "1.2.3", "1-2", "1ee2", "9007199254740993",
            "9007199254740993.0", "9007199254740993.5", "9007199254740992e1", "1e19", "1.8446744073709551615e19",
            "9223372036854775807.0", "-9223372036854775808.0", "170141183460469231731687303715884105727",
            "170141183460469231731687303715884105728", "1e20", "null", "true", "\"1\"", "[1]", "{}", " 7 ",
        ]
        for input in inputs {
            expectSame(Int.self, input)
            expectSame(Int8.self, input)
            expectSame(Int16.self, input)
            expectSame(Int32.self, input)
            expectSame(Int64.self, input)
            expectSame(UInt.self, input)
            expectSame(UInt8.self, input)
            expectSame(UInt16.self, input)
            expectSame(UInt32.self, input)
            expectSame(UInt64.self, input)
            expectSame(Int128.self, input)
            expectSame(UInt128.self, input)
            expectSame([Int8].self, "[\(input)]")
            expectSame(Optionals.self, #"{"uint8": \#(input)}"#)
        }
    }

    @Test func floatingPoint() {
        let inputs = [
            "0", "-0", "0.0", "-0.0", "1", "1.5", "-1.5", "0.1", "0.3", "3.141592653589793", "2.718281828459045",
            "1e10", "1e22", "1e23", "1e-22", "1e-23", "123456789012345678901234567890", "0.1e1", "1E-5",
            "1.7976931348623157e308", "1.7976931348623159e308", "1e309", "2.2250738585072011e-308",
            "2.2250738585072014e-308", "4.9e-324", "2e-324", "1e-400", "0e500", "0.000e-999",
            "3.4028235e38", "3.4028236e38", "1.4e-45", "1e-46", "16777217", "9007199254740993",
            "0.30000000000000004", "123.456e-7", "-9.87654321e+12",
            "1.00000000000000011102230246251565404236316680908203125",
            "1.", ".1", "01.5", "1.5e", "1e+-5", "NaN", "Infinity", "\"1.5\"", "null", "true",
            // Zeros with exponents: JSONDecoder's zero check reads short tails backwards.
            "0e1", "0E5", "0e0", "-0e1", "0e10", "0.0e1", "0.00e1", "0e-1", "0e+1", "-0.0e-0", "0.0e12", "0.000e1",
        ]
        for input in inputs {
            expectSame(Double.self, input)
            expectSame(Float.self, input)
            expectSame([Double].self, "[\(input)]")
            expectSame(Optionals.self, #"{"float": \#(input), "double": \#(input)}"#)
        }
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let value = try JSONBytesDecoder().decode(Double.self, from: Data("-0.0".utf8))
        #expect(value.sign == .minus && value == 0)
    }

    @Test func stringsAndEscapes() {
        let inputs = [
            #""""#, #""plain""#, #""Zoë""#, #""日本語""#, #""😀""#, #""\"""#, #""\\""#, #""\/""#, #""\b\f\n\r\t""#,
            #""\u0041\u00e9\u65e5""#, #""\u0000""#, #""a\u0000b""#, #""\uD83D\uDE00""#, #""\ud83d\ude00""#,
            #""\uD83D""#, #""\uD83Dx""#, #""\uD83D\u0041""#, #""\uDE00""#, #""\uDE00\uD83D""#, #""\uD83D\uD83D""#,
            #""\u12""#, #""\u12G4""#, #""\u+123""#, #""\u-123""#, #""\x""#, #""\'""#, #""\ ""#, #""\"#, #""abc"#,
            "\"a\u{1}b\"", "\"tab\there\"", "\"line\nbreak\"", "\"\u{7F}\"", "\"e\u{301}\"", #""\u00""#,
            #""a\\\"b""#, #""\\u0041""#, "123", "null", "[\"a\"]", "{}", "true",
        ]
        for input in inputs {
            expectSame(String.self, input)
            expectSame([String].self, "[\(input)]")
            expectSame(Optionals.self, #"{"string": \#(input)}"#)
        }
    }

    @Test func invalidUTF8() {
        let documents: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xC3, 0xA9, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0x5C, 0x6E, 0xFF, 0x22],
            [0x22, 0xE2, 0x82, 0x22], [0x22, 0x61, 0x80, 0x62, 0x22],
        ]
        for document in documents {
            let label = document.map { String($0, radix: 16) }.joined(separator: " ")
            expectSame(String.self, Data(document), label: label)
            // Unread strings are never checked, by either decoder.
            expectSame(
                Money.self, Data(#"{"amount": 1, "currency": "EUR", "x": "#.utf8 + document + [0x7D]), label: label)
            // Keys are decoded when their object is opened.
            expectSame(
                [String: Int].self, Data([0x7B] + document + Array(#": 1}"#.utf8)), label: "key " + label)
            expectSame(Money.self, Data([0x7B] + document + Array(#": 1}"#.utf8)), label: "key " + label)
        }
    }

    @Test func syntax() {
        let inputs = [
            "", " ", "[", "]", "[1", "[1,", "[1,]", "[1,,]", "[,1]", "[,]", "[1 2]", "[1]]", "[1] x", "[1]\n",
            "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1,,}", "{,}", "{\"a\" 1}", "{1:1}", "{'a':1}",
            "{\"a\":1}}", "{\"a\":1 \"b\":2}", "tru", "true", "truex", "nul", "null ", "fals", "falsee",
            "[true,false,null]",
            "\u{FEFF}[1]", "\u{FEFF}\u{FEFF}[1]", " \t\r\n[1] \t\r\n", "\u{0B}[1]", "\u{A0}[1]", "[1]\u{0}", "[\"a\"",
            "[\"\\\"]", "[1.2.3]", "[-]", "[01]", "[1e5]", "[0x10]", "[Infinity]", "[NaN]", "[+1]", "[.5]",
        ]
        for input in inputs {
            expectSame([Int?].self, input)
            expectSame([Bool?].self, input)
            expectSame([String: Int].self, input)
            expectSame(Int.self, input)
        }
    }

    @Test func unreadValuesAreOnlyCheckedForStructure() {
        // JSONDecoder checks the text of a string or number only when it is decoded.
        for extra in [
            #""\q""#, "1.2.3", "-", "01", "1e", "\"\u{1}\"", #""\uZZZZ""#, "[1.2.3, \"\\x\"]", "{\"\\q\": 1}",
        ] {
            expectSame(Money.self, #"{"amount": 5, "currency": "EUR", "extra": \#(extra)}"#)
            expectSame(Money.self, #"{"extra": \#(extra), "amount": 5, "currency": "EUR"}"#)
            expectSame([Money].self, #"[{"amount": 5, "currency": "EUR", "extra": \#(extra)}]"#)
        }
    }

    @Test func duplicateKeysKeepTheFirst() {
        expectSame(Money.self, #"{"amount": 1, "currency": "EUR", "amount": 2}"#)
        expectSame([String: Int].self, #"{"a": 1, "a": 2, "b": 3}"#)
        expectSame([String: Int].self, #"{"a": 1, "\u0061": 2}"#)
        expectSame(Money.self, #"{"amount": "x", "currency": "EUR", "amount": 2}"#)
        expectSame(Money.self, #"{"amount": 1, "currency": "EUR", "amount": "x"}"#)
        expectSame(ContainerTour.self, #"{"a": 1, "a": 2, "list": [1], "list": "x"}"#)
        // Keys compare as Swift strings: canonically equivalent keys are duplicates.
        expectSame([String: Int].self, "{\"\u{e9}\": 1, \"e\u{301}\": 2}")
        expectSame([String: Int].self, "{\"\u{212A}\": 1, \"K\": 2}")
        let many = (0..<40).map { "\"k\($0 % 25)\": \($0)" }.joined(separator: ", ")
        expectSame([String: Int].self, "{\(many)}")
        // Objects of more than 12 members are indexed by hash: the same rules apply.
        let filler = (0..<20).map { "\"f\($0)\": \($0)" }.joined(separator: ", ")
        expectSame([String: Int].self, "{\(filler), \"\u{212A}\": 1, \"K\": 2}")
        expectSame([String: Int].self, "{\(filler), \"K\": 1, \"\u{212A}\": 2, \"f3\": 9}")
        expectSame([String: Int].self, #"{\#(filler), "f\u0033": 9, "\u00e9": 3}"#)
        expectSame(Money.self, #"{\#(filler), "currency": "GBP", "amount": 7, "amount": 8, "currency": 1}"#)
        expectSame(Money.self, #"{\#(filler), "currency": "GBP", "\u0061mount": 7}"#)
        expectSame(Money.self, #"{\#(filler), "currency": "GBP"}"#)
        expectSame(Money.self, #"{\#(filler), "currency": "GBP", "amount": 1, "\q": 1}"#)
        expectSame(ContainerTour.self, #"{\#(filler), "a": 1, "list": [1], "super": 2, "a": 3}"#)
    }

    @Test func keysWithEscapesAndUnicode() {
        expectSame(Money.self, #"{"\u0061mount": 1, "currency": "EUR"}"#)
        expectSame(Money.self, #"{"amount": 1, "curr\u0065ncy": "GBP"}"#)
        expectSame(Money.self, #"{"amount": 1, "currency": "EUR", "\uD800": 1}"#)
        expectSame(Money.self, #"{"amount": 1, "currency": "EUR", "\q": 1}"#)
        expectSame([String: Int].self, #"{"a\"b": 1, "c\\d": 2, "\u00e9": 3, "日本": 4}"#)
        expectSame([String: Int].self, "{\"a\u{1}\": 1}")
        expectSame([String: Int].self, #"{"": 1}"#)
    }

    @Test func enumsWithAssociatedValues() {
        let inputs = [
            #"{"deposited": {"amount": 1}}"#, #"{"deposited":{"amount":1}}"#, #"{"opened": {"owner": "Zoë"}}"#,
            #"{"transferredOut": {"amount": 5, "to": "acc-2"}}"#, #"{"closed": {}}"#, #"{"closed": {"x": 1}}"#,
            #"{"credited": {"_0": 5}}"#, #"{"tagged": {"_0": "a", "note": null}}"#, #"{"tagged": {"_0": "a"}}"#,
            #"{"closed": null}"#, #"{"closed": []}"#, #"{"closed": 1}"#, #"{"exploded": {}}"#, "{}",
            #"{"closed": {}, "opened": {"owner": "x"}}"#, #"{"deposited": {}}"#, #"{"deposited": {"amount": "1"}}"#,
            #"{"deposited": {"amount": null}}"#, #"{"deposited": {"amount": 1.5}}"#, #"{"deposited": {"amount": 01}}"#,
            #"{"deposited": {"amount": 1e3}}"#, #"{"deposited": null}"#, #"{"deposited": [1]}"#, "[]", "null",
            #""closed""#, #"{"credited": {"_0": 99999999999999999999}}"#, #"{"opened": {"owner": "\ud800"}}"#,
            #"{"deposited": {"amount": 1}, "deposited": {"amount": 2}}"#,
        ]
        for input in inputs {
            expectSame(AccountEvent.self, input)
            expectSame([AccountEvent].self, "[\(input)]")
        }
    }

    @Test func structsAndNesting() {
        let entry = #"{"id": 1, "label": "rent", "money": {"amount": -900, "currency": "EUR"}, "flags": [true]}"#
        let inputs = [
            #"{"owner": "Zoë", "entries": [\#(entry), \#(entry)], "balances": {"a": 1, "b": -2}, "limits": {"1": 2.5, "-3": 0}, "opened": 1.5, "tags": ["x", "y"], "nested": [[1, 2], []]}"#,
            #"{"owner": "x", "entries": [], "balances": {}, "limits": {}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [], "balances": {}, "limits": {"a": 1}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [], "balances": {}, "limits": {"01": 1}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [], "balances": {}, "limits": {}, "opened": "x", "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [], "balances": {}, "limits": {}, "opened": null, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [], "balances": {}, "limits": {}, "opened": 0, "tags": [], "nested": [[300]]}"#,
            #"{"owner": "x", "entries": [{"id": 1}], "balances": {}, "limits": {}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [\#(entry), {"id": 2, "label": "x", "money": {"amount": 1, "currency": "USD"}, "flags": []}], "balances": {}, "limits": {}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [\#(entry), {"id": 2, "label": "x", "money": null, "flags": []}], "balances": {}, "limits": {}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [\#(entry), {"id": 2, "label": "x", "money": {"amount": 1, "currency": "EUR"}, "flags": [1]}], "balances": {}, "limits": {}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": {}, "balances": [], "limits": {}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": "x", "entries": [], "balances": {"a": null}, "limits": {}, "opened": 0, "tags": [], "nested": []}"#,
            #"{"owner": 5}"#, "[]", "null",
        ]
        for input in inputs { expectSame(Ledger.self, input) }
    }

    @Test func largeDocuments() throws {
        let entries = (0..<300).map { index in
            Entry(
                id: index, label: "entry \(index) é", money: Money(amount: Int64(index) * -7, currency: .pound),
                flags: [index % 2 == 0], ratio: index % 3 == 0 ? nil : Double(index) / 3)
        }
        let ledger = Ledger(
            owner: "Zoë", entries: entries,
            balances: Dictionary(uniqueKeysWithValues: (0..<500).map { ("account-\($0)", Int64($0) * 3) }),
            limits: [1: 2.5, -4: 1e-3], opened: Date(timeIntervalSinceReferenceDate: 12_345.5), tags: ["a", "b"],
            nested: [[1, 2, 3], [], [-128, 127]])
        let json = String(decoding: try JSONEncoder().encode(ledger), as: UTF8.self)
        #expect(json.utf8.count > 40_000)
        expectSame(Ledger.self, json)
        expectSame([Entry].self, String(decoding: try JSONEncoder().encode(entries), as: UTF8.self))
        // Damage deep inside a large document: the recorded container ends must not hide it.
        func damaged(_ original: String, _ replacement: String) -> String {
            #expect(json.contains(original), "\(original) is not in the document")
            return json.replacingOccurrences(of: original, with: replacement)
        }
        expectSame(Ledger.self, damaged("\"entry 250 é\"", "\"entry 250 \\q\""))
        expectSame(Ledger.self, damaged("\"id\":299", "\"id\":\"299\""))
        expectSame(Ledger.self, damaged("\"account-499\":1497", "\"account-499\":1.5"))
        expectSame(Ledger.self, damaged("[-128,127]", "[-128,128]"))
        expectSame(Ledger.self, damaged("[-128,127]", "[-128,127,]"))
        expectSame(Ledger.self, damaged("[-128,127]", "[-128,127"))
        expectSame(Ledger.self, json + " ")
        expectSame(Ledger.self, json + " x")
    }

    @Test func scalarsAndOptionals() {
        let scalars =
            #"{"bool": true, "string": "s", "int": -1, "int8": -8, "int16": 16, "int32": 32, "int64": 64, "uint": 1, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "double": 0.5, "float": 0.25}"#
        expectSame(Scalars.self, scalars)
        for (key, bad) in [
            ("bool", "null"), ("bool", "1"), ("string", "null"), ("string", "1"), ("int", "null"), ("int", "\"1\""),
            ("int8", "128"), ("uint", "-1"), ("double", "null"), ("double", "\"1\""), ("float", "1e39"),
            ("uint64", "true"), ("int16", "[]"), ("int32", "{}"),
        ] {
            expectSame(
                Scalars.self, scalars.replacingOccurrences(of: "\"\(key)\": ", with: "\"\(key)\": \(bad), \"x\": "))
            expectSame(Optionals.self, #"{"\#(key)": \#(bad)}"#)
        }
        expectSame(Scalars.self, #"{"bool": true}"#)
        for input in [
            "{}", #"{"bool": null, "string": null, "int": null}"#, #"{"money": {"amount": 1, "currency": "EUR"}}"#,
            #"{"money": {"amount": 1}}"#, #"{"money": 1}"#, #"{"list": [1, null, 3]}"#, #"{"list": null}"#,
            #"{"list": [null]}"#, #"{"list": ["a"]}"#,
        ] {
            expectSame(Optionals.self, input)
        }
        expectSame(Int?.self, "null")
        expectSame(Int?.self, "1")
        expectSame([Int?].self, "[null, 1]")
        expectSame(
            Wide.self,
            #"{"int128": -170141183460469231731687303715884105728, "uint128": 340282366920938463463374607431768211455}"#
        )
        expectSame(Wide.self, #"{"int128": 1e20, "uint128": 1}"#)
        expectSame(Wide.self, #"{"int128": 1.0, "uint128": -1}"#)
    }

    @Test func foundationTypes() {
        let good =
            #"{"date": 1.5, "data": "aGVsbG8=", "url": "https://example.com/a?b=c", "uuid": "E621E1F8-C36C-495A-93FC-0C247A3E6E5F", "decimal": 12.50}"#
        expectSame(Foundations.self, good)
        for (key, bad) in [
            ("date", "null"), ("date", "\"2020-01-01\""), ("date", "1e400"), ("data", "null"), ("data", "1"),
            ("data", "\"aGVsbG8\""), ("data", "\"!!!\""), ("data", #""\u0061GVsbG8=""#), ("url", "null"), ("url", "1"),
            ("url", "\"\""), ("url", "\"http://x y\""), ("uuid", "\"nope\""), ("uuid", "null"), ("decimal", "null"),
            ("decimal", "\"1\""), ("decimal", "1.2.3"), ("decimal", "1e400"), ("decimal", "-0"),
            ("decimal", "123456789012345678901234567890123456789012"), ("decimal", "0.1"),
        ] {
            expectSame(
                Foundations.self, good.replacingOccurrences(of: "\"\(key)\": ", with: "\"\(key)\": \(bad), \"x\": "))
        }
        for base64 in [
            "", "====", "a===", "aGVsbA==", "aGVsbA=", "aGVsbA", "aGVsbG9=", "YQ==YQ==", " aGVsbG8=", "aGVs bG8=",
            "aGVsbG-_", "aGVsbG8=\\n", "////", "++++", "A", "AB==", "ABC=",
        ] {
            expectSame(Data.self, "\"\(base64)\"")
            expectSame(Foundations.self, good.replacingOccurrences(of: "aGVsbG8=", with: base64))
        }
        expectSame([Date].self, "[0, -1, 1e9, 1.5]")
        expectSame([URL].self, #"["a", "/b", "http://[::1]:80/"]"#)
        expectSame([UUID].self, #"["E621E1F8-C36C-495A-93FC-0C247A3E6E5F", "e621e1f8-c36c-495a-93fc-0c247a3e6e5f"]"#)
        expectSame([Decimal].self, "[0, 1, -1.25, 1e5, 3.14159265358979323846264338327950288]")
    }

    @Test func dictionariesWithIntegerKeys() {
        for input in [
            #"{"1": "a", "2": "b"}"#, #"{"1": "a", "x": "b"}"#, #"{"-5": "a"}"#, #"{"+5": "a"}"#, #"{"01": "a"}"#,
            #"{" 1": "a"}"#, #"{"99999999999999999999": "a"}"#, "{}", "[]", "null", #"{"1": 1}"#,
        ] {
            expectSame([Int: String].self, input)
        }
        // Keys that are not String or Int: an array of alternating keys and values.
        expectSame([Double: Int].self, "[1.5, 1, 2.5, 2]")
        expectSame([Double: Int].self, "[1.5, 1, 2.5]")
        expectSame([Bool: Int].self, "[true, 1]")
    }

    @Test func containerAPIs() {
        for input in [
            #"{"a": 1, "n": null, "list": [1, null, [], ["x"], {"o": 1}, 2], "object": {"x": 1.5, "y": 2}}"#,
            #"{"a": null, "super": 5, "list": []}"#, #"{"a": "s", "list": [null, null]}"#, #"{"super": null}"#, "{}",
            #"{"list": [1, 2,], "object": {"x": null}}"#, #"{"list": [[1, 2], [3]], "object": []}"#,
            #"{"list": {}, "a": 1}"#, #"{"a": 1, "list": [1.5]}"#, "[]",
        ] {
            expectSame(ContainerTour.self, input)
        }
    }

    @Test func codingPathsSeenByNestedDecoders() {
        expectSame(PathProbe.self, #"{"a": [1, {"b": "x", "c": [300, null]}], "d": {"e": {"f": true}}, "g": 2}"#)
        expectSame(PathProbe.self, #"[[[1]], {"": 5}, {"k": 1.5}]"#)
        expectSame(PathProbe.self, "7")
    }

    @Test func deepNesting() {
        for depth in [1, 100, 511, 512, 513, 600, 100_000] {
            let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            expectSame(Int.self, Data(arrays.utf8), label: "\(depth) arrays as Int")
            let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
            expectSame([String: Int].self, Data(objects.utf8), label: "\(depth) objects")
            if depth <= 512 { expectSame(Nest.self, Data(arrays.utf8), label: "\(depth) arrays as Nest") }
            // Unclosed: never a crash, always an error.
            let unclosed = String(repeating: "[", count: depth)
            if depth == 513 {
                // JSONDecoder itself traps here (its error location runs past the end): ours throws.
                #expect(throws: DecodingError.self) {
                    try JSONBytesDecoder().decode(Int.self, from: Data(unclosed.utf8))
                }
            } else {
                expectSame(Int.self, Data(unclosed.utf8), label: "\(depth) unclosed")
            }
        }
    }

    @Test func encodingsAndByteOrderMarks() {
        let utf16 = Data([0x00, 0x5B, 0x00, 0x31, 0x00, 0x5D])  // [1] in UTF-16BE
        expectSame([Int].self, utf16, label: "UTF-16BE")
        expectSame([Int].self, Data([0xFF, 0xFE, 0x5B, 0x00, 0x31, 0x00, 0x5D, 0x00]), label: "UTF-16LE BOM")
        expectSame(Int.self, Data([0x31, 0x00]), label: "1 NUL")
        expectSame(Int.self, Data([0x00, 0x31]), label: "NUL 1")
        expectSame(Int.self, Data([0xEF, 0xBB, 0xBF, 0x31]), label: "UTF-8 BOM")
        expectSame(Int.self, Data([0xEF, 0xBB, 0xBF]), label: "UTF-8 BOM alone")
        expectSame(Int.self, Data([0xEF, 0xBB]), label: "part of a BOM")
        expectSame(Int.self, Data([0x00]), label: "NUL")
        expectSame(String.self, Data([0x22, 0x00, 0x22]), label: "quote NUL quote")
    }

    @Test func sliceOfData() {
        let whole = Data("xx[1, 2, 3]yy".utf8)
        let slice = whole[2..<(whole.count - 2)]
        #expect((try? JSONBytesDecoder().decode([Int].self, from: slice)) == [1, 2, 3])
        #expect((try? JSONBytesDecoder().decode([Int].self, from: Array("[4]".utf8))) == [4])
    }

    @Test func enumCaseEntryPoint() throws {
        let decoder = JSONBytesDecoder()
        func decode(_ name: String, _ payload: String) -> DecodeOutcome {
            Differential.outcome { try decoder.decode(AccountEvent.self, caseName: name, payload: Data(payload.utf8)) }
                .0
        }
        func wrapped(_ name: String, _ payload: String) -> DecodeOutcome {
            Differential.outcome {
                try JSONDecoder().decode(AccountEvent.self, from: Data("{\"\(name)\":\(payload)}".utf8))
            }.0
        }
        for (name, payload) in [
            ("deposited", #"{"amount": 1}"#), ("opened", #"{"owner": "Zoë"}"#), ("closed", "{}"),
            ("credited", #"{"_0": 5}"#),
            ("nope", "{}"), ("deposited", #"{"amount": "1"}"#), ("deposited", ""), ("deposited", " {\"amount\": 1} "),
            ("deposited", #"{"amount": 1}, "closed": {}"#), ("deposited", #"{"amount": 1}}"#),
            ("", "{}"), ("closed", "null"), ("deposited", "\u{FEFF}{\"amount\": 1}"), ("deposited", "{\"amount\": 1,}"),
            ("caf\u{e9}", "{}"), ("closed", String(repeating: "[", count: 511) + String(repeating: "]", count: 511)),
            ("closed", String(repeating: "[", count: 512) + String(repeating: "]", count: 512)),
        ] {
            #expect(decode(name, payload) == wrapped(name, payload), "\(name): \(payload)")
        }
        // A name that would end its quotes is refused before it is spliced in: it must not add
        // keys of its own (`JSONDecoder` over the spliced text would read them).
        for name in [#"de"posited"#, #"deposited":{"amount":9},"deposited"#, #"de\posited"#, "de\u{1}posited"] {
            #expect(
                decode(name, "{}") == .error(kind: "dataCorrupted", path: "", detail: "'\(name)' is not a case name"),
                "\(name)")
        }
    }
}
