import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle
import Synchronization

/// An in-process stand-in for the subset of Elasticsearch's REST API the chat log uses, since
/// Elasticsearch cannot be installed here. Requests and answers follow Elasticsearch's
/// documented shapes (8.x, typeless): `PUT/GET _index_template/{name}`, `POST _bulk` (NDJSON,
/// `create`/`index`, per-item results, `errors`), `POST {indices}/_search` (bool filter term
/// and range, must match with operator, sort, from, size). Documents are visible as soon as
/// `_bulk` answers, as with `refresh=wait_for`. Anything outside the subset is answered 400,
/// so the adapter cannot silently start depending on more than is tested here.
public final class FakeElasticsearch: Sendable {
    public struct Document: Sendable {
        public var id: String
        public var source: Data
        public var chatroom: Int64
        public var seq: Int64
        public var message: String
    }

    public struct Counters: Equatable, Sendable {
        public var bulkRequests = 0
        public var searchRequests = 0
        public var created = 0
        public var conflicts = 0
        public var refusedWhileDown = 0
    }

    public struct State: Sendable {
        public var templates: [String: Data] = [:]
        public var indices: [String: [String: Document]] = [:]
        public var counters = Counters()
        /// Answer every request 503, as a cluster without a master does.
        public var unavailable = false
        /// Apply this many `_bulk` requests and then answer 503 anyway: the answer was lost.
        public var loseBulkAnswers = 0
        /// Documents whose message contains this are refused as a strict mapping refuses a bad document.
        public var rejectMessagesContaining: String?
        /// Held before each `_search` answer, so concurrent queries overlap.
        public var searchDelay: Duration = .zero
        /// While true, `_search` answers are held back (after their snapshot) until it is false.
        public var holdSearchAnswers = false
    }

    public let state = Mutex(State())
    public let port: Int
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    private let secure: Bool

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` when started with TLS.
    public var url: String { secure ? "https://localhost:\(port)" : "http://127.0.0.1:\(port)" }

    private init(port: Int, group: ServiceGroup, running: Task<Void, any Error>, secure: Bool) {
        self.port = port
        self.group = group
        self.running = running
        self.secure = secure
    }

    /// Starts the stand-in on a free loopback port; with `certificates`, over https only
    /// (their server certificate, for localhost and 127.0.0.1).
    public static func start(certificates: TestCertificates? = nil) async throws -> FakeElasticsearch {
        var server = HTTPServerBuilder.http1()
        if let certificates {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificates.certificateFile).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.keyFile, format: .pem))
            )
            server = try .tls(.http1(), tlsConfiguration: configuration)
        }
        let handler = Handler()
        var logger = Logger(label: "fake-elasticsearch")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in try await handler.respond(to: request) },
            server: server,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw CancellationError() }
        let fake = FakeElasticsearch(port: port, group: group, running: running, secure: certificates != nil)
        handler.fake.withLock { $0 = fake }
        return fake
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    public func with<T: Sendable>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }

    /// Every stored document id, per index: what a test counts to prove "exactly once".
    public var documentIDs: [String] { with { $0.indices.values.flatMap { $0.keys } }.sorted() }

    public func documents(in room: Int64) -> [Document] {
        with { $0.indices.values.flatMap(\.values).filter { $0.chatroom == room } }.sorted { $0.seq < $1.seq }
    }

    /// Breaks the cycle the server's closure would otherwise hold on the fake.
    private final class Handler: Sendable {
        let fake = Mutex<FakeElasticsearch?>(nil)

        func respond(to request: Request) async throws -> Response {
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024 * 1024)
            guard let fake = fake.withLock({ $0 }) else { return FakeElasticsearch.error(503, "not_ready", "starting") }
            return await fake.respond(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "", contentType: request.headers[.contentType], body: body)
        }
    }

    // MARK: Routing

    private func respond(method: String, path: String, query: String, contentType: String?, body: ByteBuffer) async -> Response {
        let down = with { state -> Bool in
            if state.unavailable { state.counters.refusedWhileDown += 1 }
            return state.unavailable
        }
        if down {
            return Self.error(503, "master_not_discovered_exception", "the fake is switched to unavailable")
        }
        let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        if body.readableBytes > 0, let contentType, !contentType.hasPrefix("application/json"), !contentType.hasPrefix("application/x-ndjson") {
            return Self.error(406, "media_type_header_exception", "Content-Type header [\(contentType)] is not supported")
        }
        switch (method, segments.count, segments.first) {
        case ("PUT", 2, "_index_template"):
            return putTemplate(name: segments[1], body: Data(buffer: body))
        case ("GET", 2, "_index_template"):
            return getTemplate(name: segments[1])
        case ("POST", 1, "_bulk"), ("PUT", 1, "_bulk"):
            return bulk(Data(buffer: body))
        case ("POST", 2, _) where segments[1] == "_search", ("GET", 2, _) where segments[1] == "_search":
            // The answer is computed first and delayed on its way back, so a slow search reflects
            // what the index held when it arrived, as a real one would.
            let answer = search(indices: segments[0], body: Data(buffer: body))
            let delay = with { $0.searchDelay }
            if delay > .zero { try? await Task.sleep(for: delay) }
            while with({ $0.holdSearchAnswers }) { try? await Task.sleep(for: .milliseconds(2)) }
            return answer
        default:
            return Self.error(400, "illegal_argument_exception", "the fake does not implement \(method) \(path)")
        }
    }

    private func putTemplate(name: String, body: Data) -> Response {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let patterns = object["index_patterns"] as? [String], !patterns.isEmpty,
            object["template"] is [String: Any]?
        else {
            return Self.error(400, "x_content_parse_exception", "index template needs index_patterns and an object template")
        }
        with { $0.templates[name] = body }
        return Self.json(200, ["acknowledged": true])
    }

    private func getTemplate(name: String) -> Response {
        guard let stored = with({ $0.templates[name] }), let template = try? JSONSerialization.jsonObject(with: stored) else {
            return Self.error(404, "resource_not_found_exception", "index template matching [\(name)] not found")
        }
        return Self.json(200, ["index_templates": [["name": name, "index_template": template]]])
    }

    // MARK: Answers

    static func json(_ status: Int, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
        return Response(
            status: .init(code: status),
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: data))
        )
    }

    /// Elasticsearch's documented error body.
    static func error(_ status: Int, _ type: String, _ reason: String) -> Response {
        let cause: [String: Any] = ["type": type, "reason": reason]
        return json(status, ["error": ["root_cause": [cause], "type": type, "reason": reason], "status": status])
    }
}
