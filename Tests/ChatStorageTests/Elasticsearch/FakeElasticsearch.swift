import Foundation
import HTTPTypes
import Hummingbird
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
final class FakeElasticsearch: Sendable {
    struct Document {
        var id: String
        var source: Data
        var chatroom: Int64
        var seq: Int64
        var message: String
    }

    struct Counters: Equatable {
        var bulkRequests = 0
        var searchRequests = 0
        var created = 0
        var conflicts = 0
        var refusedWhileDown = 0
    }

    struct State {
        var templates: [String: Data] = [:]
        var indices: [String: [String: Document]] = [:]
        var counters = Counters()
        /// Answer every request 503, as a cluster without a master does.
        var unavailable = false
        /// Apply this many `_bulk` requests and then answer 503 anyway: the answer was lost.
        var loseBulkAnswers = 0
        /// Documents whose message contains this are refused as a strict mapping refuses a bad document.
        var rejectMessagesContaining: String?
        /// Held before each `_search` answer, so concurrent queries overlap.
        var searchDelay: Duration = .zero
        /// While true, `_search` answers are held back (after their snapshot) until it is false.
        var holdSearchAnswers = false
    }

    let state = Mutex(State())
    let port: Int
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, group: ServiceGroup, running: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.running = running
    }

    static func start() async throws -> FakeElasticsearch {
        let handler = Handler()
        var logger = Logger(label: "fake-elasticsearch")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in try await handler.respond(to: request) },
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
        let fake = FakeElasticsearch(port: port, group: group, running: running)
        handler.fake.withLock { $0 = fake }
        return fake
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    func with<T: Sendable>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }

    /// Every stored document id, per index: what a test counts to prove "exactly once".
    var documentIDs: [String] { with { $0.indices.values.flatMap { $0.keys } }.sorted() }

    func documents(in room: Int64) -> [Document] {
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

    // MARK: _bulk

    private func bulk(_ body: Data) -> Response {
        let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        guard lines.count % 2 == 0 else {
            return Self.error(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
        }
        var items: [[String: Any]] = []
        var errors = false
        let (loseAnswer, answer): (Bool, Response?) = with { state in
            state.counters.bulkRequests += 1
            for pair in stride(from: 0, to: lines.count, by: 2) {
                guard let action = try? JSONSerialization.jsonObject(with: Data(lines[pair])) as? [String: [String: Any]],
                    let (kind, target) = action.first, kind == "create" || kind == "index",
                    let index = target["_index"] as? String, let id = target["_id"] as? String
                else {
                    return (false, Self.error(400, "illegal_argument_exception", "Malformed action/metadata line [\(pair + 1)]"))
                }
                let source = Data(lines[pair + 1])
                guard let fields = try? JSONSerialization.jsonObject(with: source) as? [String: Any],
                    let room = (fields["chatroom"] as? NSNumber)?.int64Value, let seq = (fields["seq"] as? NSNumber)?.int64Value,
                    let message = fields["message"] as? String, fields["user"] is String, fields["timestamp"] is NSNumber,
                    fields.count == 5, !(state.rejectMessagesContaining.map { message.contains($0) } ?? false)
                else {
                    errors = true
                    items.append([kind: ["_index": index, "_id": id, "status": 400, "error": ["type": "document_parsing_exception", "reason": "[1:1] strict mapping rejects the document"]]])
                    continue
                }
                let exists = state.indices[index]?[id] != nil
                if kind == "create", exists {
                    errors = true
                    state.counters.conflicts += 1
                    items.append([kind: [
                        "_index": index, "_id": id, "status": 409,
                        "error": ["type": "version_conflict_engine_exception", "reason": "[\(id)]: version conflict, document already exists (current version [1])", "index": index, "shard": "0"],
                    ]])
                    continue
                }
                state.indices[index, default: [:]][id] = Document(id: id, source: source, chatroom: room, seq: seq, message: message)
                if !exists { state.counters.created += 1 }
                items.append([kind: [
                    "_index": index, "_id": id, "_version": 1, "result": exists ? "updated" : "created",
                    "_shards": ["total": 2, "successful": 1, "failed": 0], "_seq_no": state.counters.created, "_primary_term": 1,
                    "status": exists ? 200 : 201,
                ]])
            }
            if state.loseBulkAnswers > 0 {
                state.loseBulkAnswers -= 1
                return (true, nil)
            }
            return (false, nil)
        }
        if let answer { return answer }
        if loseAnswer { return Self.error(503, "unavailable_shards_exception", "the answer was lost after the writes were applied") }
        return Self.json(200, ["took": 1, "errors": errors, "items": items])
    }

    // MARK: _search

    private func search(indices expression: String, body: Data) -> Response {
        guard let request = (body.isEmpty ? [:] : try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            return Self.error(400, "parsing_exception", "request body must be a JSON object")
        }
        let known: Set<String> = ["query", "sort", "from", "size", "track_total_hits"]
        if let unknown = request.keys.first(where: { !known.contains($0) }) {
            return Self.error(400, "parsing_exception", "the fake does not implement [\(unknown)]")
        }
        let from = (request["from"] as? Int) ?? 0
        let size = (request["size"] as? Int) ?? 10
        guard from >= 0, size >= 0, from + size <= 10_000 else {
            return Self.error(400, "illegal_argument_exception", "Result window is too large, from + size must be less than or equal to: [10000]")
        }
        var predicates: [(Document) -> Bool] = []
        if let query = request["query"] {
            guard let bool = (query as? [String: Any])?["bool"] as? [String: Any], Set(bool.keys).isSubset(of: ["filter", "must"]) else {
                return Self.error(400, "parsing_exception", "the fake implements only a bool query with filter and must")
            }
            for clause in ((bool["filter"] as? [Any]) ?? []) + ((bool["must"] as? [Any]) ?? []) {
                guard let predicate = Self.predicate(clause) else {
                    return Self.error(400, "parsing_exception", "unknown query clause \(clause)")
                }
                predicates.append(predicate)
            }
        }
        var descending = false
        if let sort = request["sort"] {
            guard let fields = sort as? [[String: Any]], fields.count == 1, let order = fields[0]["seq"] else {
                return Self.error(400, "parsing_exception", "the fake sorts only on seq")
            }
            descending = ((order as? [String: String])?["order"] ?? (order as? String)) == "desc"
        }
        let pattern = expression
        let (matched, indexMissing) = with { state -> ([(String, Document)], Bool) in
            state.counters.searchRequests += 1
            let names = state.indices.keys.filter { Self.matches(pattern, $0) }
            let missing = !pattern.contains("*") && names.isEmpty
            let hits = names.flatMap { name in state.indices[name]!.values.map { (name, $0) } }
            return (hits, missing)
        }
        if indexMissing {
            return Self.error(404, "index_not_found_exception", "no such index [\(pattern)]")
        }
        let hits = matched.filter { hit in predicates.allSatisfy { $0(hit.1) } }
            .sorted { descending ? $0.1.seq > $1.1.seq : $0.1.seq < $1.1.seq }
        let page = hits.dropFirst(from).prefix(size).map { hit -> [String: Any] in
            ["_index": hit.0, "_id": hit.1.id, "_score": NSNull(), "_source": (try? JSONSerialization.jsonObject(with: hit.1.source)) ?? [:], "sort": [hit.1.seq]]
        }
        var hitsObject: [String: Any] = ["max_score": NSNull(), "hits": page]
        if (request["track_total_hits"] as? Bool) != false {
            hitsObject["total"] = ["value": hits.count, "relation": "eq"]
        }
        return Self.json(200, [
            "took": 1, "timed_out": false,
            "_shards": ["total": 1, "successful": 1, "skipped": 0, "failed": 0],
            "hits": hitsObject,
        ])
    }

    private static func predicate(_ clause: Any) -> ((Document) -> Bool)? {
        guard let object = clause as? [String: Any], object.count == 1, let (kind, value) = object.first,
            let spec = value as? [String: Any], spec.count == 1, let (field, argument) = spec.first
        else { return nil }
        switch (kind, field) {
        case ("term", "chatroom"):
            guard let room = (argument as? NSNumber)?.int64Value ?? ((argument as? [String: Any])?["value"] as? NSNumber)?.int64Value else { return nil }
            return { $0.chatroom == room }
        case ("range", "seq"):
            guard let bounds = argument as? [String: NSNumber], !bounds.isEmpty else { return nil }
            return { document in
                bounds.allSatisfy { key, bound in
                    switch key {
                    case "lt": document.seq < bound.int64Value
                    case "lte": document.seq <= bound.int64Value
                    case "gt": document.seq > bound.int64Value
                    case "gte": document.seq >= bound.int64Value
                    default: false
                    }
                }
            }
        case ("match", "message"):
            let text: String
            let requireAll: Bool
            if let plain = argument as? String {
                (text, requireAll) = (plain, false)  // operator defaults to "or"
            } else if let options = argument as? [String: String], let query = options["query"] {
                (text, requireAll) = (query, options["operator"]?.lowercased() == "and")
            } else {
                return nil
            }
            let wanted = tokens(text)
            return { document in
                let have = tokens(document.message)
                return !wanted.isEmpty && (requireAll ? wanted.isSubset(of: have) : !wanted.isDisjoint(with: have))
            }
        default:
            return nil
        }
    }

    /// The standard analyzer, roughly: lower-cased runs of letters and digits.
    private static func tokens(_ text: String) -> Set<String> {
        Set(text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init))
    }

    /// Comma-separated index names with `*` wildcards, as Elasticsearch's multi-target syntax.
    private static func matches(_ expression: String, _ index: String) -> Bool {
        expression.split(separator: ",").contains { pattern in
            let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
            guard parts.count > 1 else { return pattern == index }
            var rest = Substring(index)
            guard rest.hasPrefix(parts[0]) else { return false }
            rest = rest.dropFirst(parts[0].count)
            for part in parts.dropFirst().dropLast() where !part.isEmpty {
                guard let range = rest.range(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
            return rest.hasSuffix(parts.last!)
        }
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
