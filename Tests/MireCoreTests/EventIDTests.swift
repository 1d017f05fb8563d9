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
}
