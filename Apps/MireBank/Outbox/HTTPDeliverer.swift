import Foundation
import MireSagas

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Delivers outbox messages by POSTing each body to an endpoint, with the message's key as the
/// `Idempotency-Key` header (the receiver deduplicates by it) and its topic as `X-Mire-Topic`.
/// A 2xx answer is a delivery; a 4xx other than 408, 409 (the key is being handled), 425 and 429
/// is a refusal no retry can fix (a dead letter at once); anything else is retried.
///
/// ```swift
/// let deliverer = HTTPDeliverer(endpoint: URL(string: "http://127.0.0.1:8089/")!)
/// let worker = OutboxWorker(store: store, configuration: .init(workerID: "w"), logger: logger, deliver: deliverer.deliver)
/// ```
struct HTTPDeliverer: Sendable {
    /// Where messages go.
    let endpoint: URL

    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var description: String { "the endpoint answered HTTP \(status)" }
    }

    @Sendable func deliver(_ delivery: OutboxDelivery) async throws {
        var request = URLRequest(url: endpoint, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(delivery.message.key, forHTTPHeaderField: "Idempotency-Key")
        request.setValue(delivery.message.topic, forHTTPHeaderField: "X-Mire-Topic")
        request.httpBody = delivery.message.payload
        let (_, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        switch status {
        case 200..<300: return
        case 400..<500 where ![408, 409, 425, 429].contains(status):
            throw UndeliverableMessage(reason: "the endpoint refused it with HTTP \(status)")
        default: throw Failure(status: status)
        }
    }
}
