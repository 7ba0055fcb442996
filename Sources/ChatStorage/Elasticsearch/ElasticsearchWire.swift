import ChatCore

/// Request and answer bodies of the Elasticsearch REST calls the chat log makes, as
/// Elasticsearch documents them (typeless APIs, 7.x and later), reduced to the fields read.

/// One action line of a `_bulk` body: `{"create": {"_index": …, "_id": …}}`.
struct BulkAction: Encodable {
    struct Target: Encodable {
        var _index: String
        var _id: String
    }

    var create: Target
}

/// The documented `_bulk` answer: `{"took": …, "errors": bool, "items": [{"create": {"_index", "_id", "status", "error"?}}]}`.
struct BulkResponse: Decodable {
    struct ItemResult: Decodable {
        struct Failure: Decodable {
            var type: String?
            var reason: String?
            var summary: String { [type, reason].compactMap { $0 }.joined(separator: ": ") }
        }

        var _index: String?
        var _id: String?
        var status: Int
        var error: Failure?
    }

    /// Each item is an object with one key, the action's name.
    struct Item: Decodable {
        var result: ItemResult

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            guard let key = container.allKeys.first else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "empty bulk item"))
            }
            result = try container.decode(ItemResult.self, forKey: key)
        }
    }

    var errors: Bool
    var items: [Item]
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A `_search` body in Elasticsearch's query DSL, limited to the clauses the log uses.
struct SearchBody: Encodable {
    struct Query: Encodable {
        var bool: BoolQuery
    }

    struct BoolQuery: Encodable {
        var must: [Clause]?
        var filter: [Clause]
    }

    var query: Query
    var sort: [[String: [String: String]]]
    var from: Int?
    var size: Int
    /// Hits are what we want, not their count.
    var track_total_hits = false
}

enum Clause: Encodable {
    case term(field: String, value: Int64)
    case range(field: String, lessThan: Int64)
    case atLeast(field: String, value: Int64)
    case match(field: String, query: String)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyKey.self)
        switch self {
        case .term(let field, let value):
            try container.encode([field: value], forKey: AnyKey(stringValue: "term"))
        case .range(let field, let lessThan):
            try container.encode([field: ["lt": lessThan]], forKey: AnyKey(stringValue: "range"))
        case .atLeast(let field, let value):
            try container.encode([field: ["gte": value]], forKey: AnyKey(stringValue: "range"))
        case .match(let field, let query):
            try container.encode([field: ["query": query, "operator": "and"]], forKey: AnyKey(stringValue: "match"))
        }
    }
}

/// The documented `_search` answer, reduced to what the log reads: `hits.hits[]._source`.
struct SearchResponse: Decodable {
    struct Hits: Decodable {
        struct Hit: Decodable {
            var _source: ChatMessage
        }

        var hits: [Hit]
    }

    var hits: Hits
}
