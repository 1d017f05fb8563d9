import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A small JSON client over URLSession: a real HTTP client on a real socket.
struct HTTPClient: Sendable {
    let base: URL
    let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        return URLSession(configuration: configuration)
    }()

    struct Answer: Sendable {
        var status: Int
        var body: Data

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(type, from: body)
        }

        /// The message of an error answer (`{"error": {"message": …}}`).
        var errorMessage: String? {
            let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
            return (object?["error"] as? [String: Any])?["message"] as? String
        }
    }

    func get(_ path: String) async throws -> Answer {
        try await send("GET", path, body: nil)
    }

    func post(_ path: String, _ body: [String: String]) async throws -> Answer {
        try await send("POST", path, body: try JSONSerialization.data(withJSONObject: body))
    }

    private func send(_ method: String, _ path: String, body: Data?) async throws -> Answer {
        var request = URLRequest(url: base.appending(path: path))
        request.httpMethod = method
        request.timeoutInterval = 30
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: request)
        let status = try #require(response as? HTTPURLResponse).statusCode
        return Answer(status: status, body: data)
    }
}
