import Foundation
import MirePostgres
import MireTestSupport
import MireTesting
import Testing

/// Random sequences of appends (right and wrong expectations, retries of earlier appends,
/// reused ids, batches) give the same outcome on the PostgreSQL store and the in-memory one.
@Suite("Store differential")
struct StoreDifferentialTests {
    /// A small deterministic generator, so a failing sequence can be replayed by its seed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    enum Outcome: Equatable {
        case stored(versions: [Int64], alreadyStored: [Bool])
        case failed(MireError.Code)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomAppendsAgreeWithPostgres(_ seed: UInt64) async throws {
        try await TestDatabase.withStore { postgres throws in
            let memory = InMemoryEventStore()
            var random = SplitMix(state: seed)
            let streams = try (0..<3).map { try StreamID(category: "diff", id: "s\($0)") }
            var sent: [StreamAppend] = []  // earlier appends, to retry
            var seen: Set<String> = []  // the kinds of outcome met, so the sequence is known to cover them
            for step in 0..<120 {
                let batch: [StreamAppend]
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<2 where !sent.isEmpty:
                    batch = [sent.randomElement(using: &random)!]  // a retry, same ids
                case 2:
                    // A reused id: an earlier event's id on new content or another stream.
                    let earlier = sent.randomElement(using: &random)?.events.first?.metadata.eventID ?? UUID()
                    let event = NewEvent(
                        type: "diff.noted", payload: Data(#"{"step":\#(step)}"#.utf8),
                        metadata: EventMetadata(eventID: earlier))
                    batch = [
                        StreamAppend(stream: streams.randomElement(using: &random)!, expecting: .any, events: [event])
                    ]
                default:
                    let count = Int.random(in: 1...2, using: &random)
                    batch = (0..<count).map { index in
                        let expected: ExpectedVersion = [
                            .any, .noStream, .streamExists, .exact(Int64.random(in: 0...6, using: &random)),
                        ]
                        .randomElement(using: &random)!
                        let events = (0..<Int.random(in: 0...3, using: &random)).map { n in
                            NewEvent(type: "diff.noted", payload: Data(#"{"step":\#(step),"n":\#(n)}"#.utf8))
                        }
                        return StreamAppend(
                            stream: streams[(index + step) % streams.count], expecting: expected, events: events)
                    }
                }
                sent.append(contentsOf: batch)
                let expected = await outcome(of: batch, on: postgres)
                let actual = await outcome(of: batch, on: memory)
                #expect(
                    actual == expected,
                    "seed \(seed), step \(step): \(batch.map { "\($0.stream) \($0.expected) \($0.events.count)" })")
                if actual != expected { return }
                switch actual {
                case .stored(_, let already): seen.insert(already.contains(true) ? "already stored" : "stored")
                case .failed(let code): seen.insert("\(code)")
                }
            }
            #expect(
                seen.isSuperset(of: ["stored", "already stored", "concurrencyConflict", "eventIDReused"]), "\(seen)")
        }
    }

    private func outcome(of batch: [StreamAppend], on store: any AggregateStore) async -> Outcome {
        do {
            let results: [AppendResult]
            if batch.count == 1, let only = batch.first {
                results = [try await store.append(only.events, to: only.stream, expecting: only.expected)]
            } else {
                results = try await store.append(batch)
            }
            return .stored(versions: results.map(\.version), alreadyStored: results.map(\.wasAlreadyStored))
        } catch let error as MireError {
            return .failed(error.code)
        } catch {
            return .failed(.database)
        }
    }
}
