import Foundation
import Hummingbird

/// The fake's `_bulk` and `_search`: the parts of Elasticsearch whose semantics the adapter
/// relies on (409 on `create`, per-item results, filters, match with operator, sort, paging).
extension FakeElasticsearch {
    // MARK: _bulk

    func bulk(_ body: Data) -> Response {
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
                    fields.count == (fields["epoch"] is String ? 6 : 5), !(state.rejectMessagesContaining.map { message.contains($0) } ?? false)
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

    func search(indices expression: String, body: Data) -> Response {
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

    static func predicate(_ clause: Any) -> ((Document) -> Bool)? {
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
    static func tokens(_ text: String) -> Set<String> {
        Set(text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init))
    }

    /// Comma-separated index names with `*` wildcards, as Elasticsearch's multi-target syntax.
    static func matches(_ expression: String, _ index: String) -> Bool {
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
}
