import Foundation
import Testing

@testable import MireCore

@Suite("Event ids")
struct EventIDTests {
    @Test func freshEventIDsAreDistinctVersion4UUIDs() {
        let ids = (0..<10_000).map { _ in EventMetadata().eventID }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let bytes = id.uuid
            #expect(bytes.6 >> 4 == 4, "version of \(id)")
            #expect(bytes.8 >> 6 == 0b10, "variant of \(id)")
            // The text form says the same: xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx.
            let text = Array(id.uuidString.lowercased())
            #expect(text[14] == "4")
            #expect("89ab".contains(text[19]))
        }
    }

    @Test func eventIDBitsAreSpreadOverEveryRandomPosition() {
        // 122 random bits: over 2,000 ids each random bit is set in roughly half of them.
        let ids = (0..<2_000).map { _ in UUID.randomEventID() }
        for bit in 0..<128 where !(48...51).contains(bit) && !(64...65).contains(bit) {
            let set = ids.filter { id in
                withUnsafeBytes(of: id.uuid) { ($0[bit / 8] >> (7 - bit % 8)) & 1 == 1 }
            }.count
            #expect((800...1_200).contains(set), "bit \(bit) set in \(set) of 2,000 ids")
        }
    }

    @Test func nameBasedIDsAreVersion5UUIDsAsRFC9562Defines() {
        // Python's uuid.uuid5 gives the same ids for the same namespace and name.
        let dns = UUID(uuidString: "6ba7b810-9dad-11d1-80b4-00c04fd430c8")!
        #expect(
            UUID(name: "www.example.com", in: dns).uuidString.lowercased() == "2ed6657d-e927-568b-95e1-2665a8aea6a2")
        let trigger = UUID(uuidString: "12345678-1234-5678-1234-567812345678")!
        #expect(
            UUID(name: "transfer/0/1", in: trigger).uuidString.lowercased() == "d757d1d4-6602-52b4-b1dc-5da19152e8e3")
        // A name longer than one SHA-1 block.
        let url = UUID(uuidString: "6ba7b811-9dad-11d1-80b4-00c04fd430c8")!
        let long = String(repeating: "x", count: 200)
        #expect(UUID(name: long, in: url).uuidString.lowercased() == "cd3580b9-d244-586a-8077-74317319b48d")
        // Stable, and different for another name or namespace.
        #expect(UUID(name: "a", in: trigger) == UUID(name: "a", in: trigger))
        #expect(UUID(name: "a", in: trigger) != UUID(name: "b", in: trigger))
        #expect(UUID(name: "a", in: trigger) != UUID(name: "a", in: dns))
    }

    @Test func sha1MatchesTheStandardsTestVectors() {
        func hex(_ text: String) -> String {
            SHA1.digest(of: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
        }
        #expect(hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        // 56 bytes: the padding spills into a second block.
        #expect(
            hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(String(repeating: "a", count: 1_000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }
}
