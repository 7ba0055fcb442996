import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The few Elasticsearch REST calls the chat log makes, over one pooled HTTP client.
///
/// Kept deliberately thin: requests and answers are JSON (Codable) or NDJSON built by the
/// callers, and every non-2xx answer becomes an ``ElasticsearchError`` that carries
/// Elasticsearch's own `type` and `reason`, so an operator reads "index_not_found_exception: …"
/// rather than "status 404".
public final class ElasticsearchClient: Sendable {
    public let endpoint: BackendEndpoint
    private let http: HTTPClient
    private let baseURL: String
    private let authorization: String?
    private let requestTimeout: TimeAmount
    /// Why the endpoint's TLS settings cannot be used (an unreadable CA file): every request
    /// fails with it, so `connect` reports it at startup.
    private let tlsFailure: BackendTLS.Invalid?
    /// Answers larger than this are refused: a search page of chat messages is far smaller, so a
    /// larger body means something other than Elasticsearch is listening.
    private static let maximumResponseBytes = 32 * 1024 * 1024

    /// `connectTimeout` bounds the TCP connect and TLS handshake of a new pooled connection;
    /// `requestTimeout` bounds the wait for an answer's bytes.
    public init(endpoint: BackendEndpoint, requestTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(2)) {
        precondition(endpoint.kind == .elasticsearch)
        self.endpoint = endpoint
        let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        let prefix = endpoint.database.map { "/" + $0 } ?? ""
        self.baseURL = "\(endpoint.scheme)://\(host):\(endpoint.port)\(prefix)"
        if let user = endpoint.user {
            let credentials = "\(user):\(endpoint.password ?? "")"
            self.authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
        } else {
            self.authorization = nil
        }
        func amount(_ duration: Duration) -> TimeAmount {
            .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }
        let timeout = amount(requestTimeout)
        self.requestTimeout = timeout
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: amount(connectTimeout), read: timeout)
        do {
            // https:// verifies against the system's trust store unless a CA file is given.
            configuration.tlsConfiguration = try endpoint.tls?.clientConfiguration()
            self.tlsFailure = nil
        } catch {
            self.tlsFailure = error
        }
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connection pool; call once, after the last request.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Sends one request and returns the status and body; throws ``ElasticsearchError/unreachable``
    /// when no answer came, and ``ElasticsearchError/failed`` for a non-2xx answer unless its status
    /// is in `accepting`.
    public func send(
        _ method: HTTPMethod,
        _ path: String,
        body: ByteBuffer? = nil,
        contentType: String = "application/json",
        accepting: Set<Int> = []
    ) async throws -> (status: Int, body: ByteBuffer) {
        if let tlsFailure {
            throw ElasticsearchError.unreachable(endpoint: endpoint.description, reason: tlsFailure.description)
        }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
        }
        let status: Int
        let answer: ByteBuffer
        do {
            let response = try await http.execute(request, deadline: .now() + requestTimeout)
            status = Int(response.status.code)
            answer = try await response.body.collect(upTo: Self.maximumResponseBytes)
        } catch {
            throw ElasticsearchError.unreachable(endpoint: endpoint.description, reason: "\(error)")
        }
        guard (200..<300).contains(status) || accepting.contains(status) else {
            throw ElasticsearchError.failed(request: "\(method.rawValue) \(path)", status: status, ElasticsearchErrorBody.describe(answer))
        }
        return (status, answer)
    }

    /// Sends a JSON body (or none) and decodes a JSON answer.
    public func json<Answer: Decodable>(
        _ method: HTTPMethod,
        _ path: String,
        body: (some Encodable)?,
        as: Answer.Type
    ) async throws -> Answer {
        let encoded = try body.map { ByteBuffer(data: try JSONEncoder().encode($0)) }
        let (_, answer) = try await send(method, path, body: encoded)
        return try Self.decode(Answer.self, from: answer, request: "\(method.rawValue) \(path)")
    }

    static func decode<Answer: Decodable>(_ type: Answer.Type, from buffer: ByteBuffer, request: String) throws -> Answer {
        do {
            return try JSONDecoder().decode(Answer.self, from: buffer)
        } catch {
            let preview = String(buffer: buffer).prefix(200)
            throw ElasticsearchError.malformedAnswer(request: request, reason: "\(error); body starts \(preview)")
        }
    }
}

/// Why a request to Elasticsearch did not do what was asked.
public enum ElasticsearchError: Error, CustomStringConvertible, Sendable {
    /// No answer: connection refused, timed out, reset.
    case unreachable(endpoint: String, reason: String)
    /// An answer with a non-2xx status; `detail` is Elasticsearch's `type: reason` when it sent one.
    case failed(request: String, status: Int, String)
    /// A 2xx answer that is not what Elasticsearch documents for the request.
    case malformedAnswer(request: String, reason: String)
    /// The chat log's index template is not installed (or older than this build needs).
    case templateMissing(endpoint: String, detail: String)
    /// The indexer's buffer is full (Elasticsearch has been failing for a long time): these
    /// messages were delivered but will not be in the log.
    case bufferFull(dropped: Int, capacity: Int)
    /// Some items of a `_bulk` request failed with a retryable status (429, 5xx).
    case bulkItemsFailed(failed: Int, of: Int, firstReason: String)

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let reason):
            "cannot reach Elasticsearch at \(endpoint): \(reason)"
        case .failed(let request, let status, let detail):
            "Elasticsearch answered \(status) to \(request): \(detail)"
        case .malformedAnswer(let request, let reason):
            "unexpected answer from Elasticsearch to \(request): \(reason)"
        case .templateMissing(let endpoint, let detail):
            "the chat log's index template is missing at \(endpoint) (\(detail)); run `chatd migrate --elasticsearch \(endpoint)` first"
        case .bufferFull(let dropped, let capacity):
            "chat log indexer buffer full (\(capacity) messages waiting for Elasticsearch); \(dropped) message(s) not logged"
        case .bulkItemsFailed(let failed, let total, let reason):
            "\(failed) of \(total) bulk items failed, will retry: \(reason)"
        }
    }
}

/// Elasticsearch's documented error body: `{"error": {"type": …, "reason": …, "root_cause": […]}, "status": 404}`
/// (very old versions and proxies send `"error"` as a plain string).
struct ElasticsearchErrorBody: Decodable {
    struct Cause: Decodable {
        var type: String?
        var reason: String?
    }

    var error: Cause

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try? container.decode(String.self, forKey: .error) {
            error = Cause(type: nil, reason: text)
        } else {
            error = try container.decode(Cause.self, forKey: .error)
        }
    }

    enum CodingKeys: String, CodingKey { case error }

    static func describe(_ buffer: ByteBuffer) -> String {
        if let body = try? JSONDecoder().decode(Self.self, from: buffer) {
            return [body.error.type, body.error.reason].compactMap { $0 }.joined(separator: ": ")
        }
        let text = String(buffer: buffer)
        return text.isEmpty ? "(empty body)" : String(text.prefix(200))
    }
}
