import ChatCore
import Foundation
import NIOCore

/// The chat log's layout in Elasticsearch: one index per month, all shaped by one composable
/// index template, which `chatd migrate --elasticsearch URL` installs.
///
/// Monthly indices keep each index a manageable size and let an operator drop old months
/// whole (deleting an index is cheap; deleting documents is not). The document id is
/// `{room}-{seq}` and the month comes from the message's own timestamp, so a message always
/// lands on the same index and id however often its batch is retried: `create` then answers
/// 409 instead of storing a second copy.
///
/// The JSON is also kept as `migrations/elasticsearch/chat-messages.index-template.json` for
/// operators who apply templates with their own tools; a test checks the two agree.
public enum ElasticsearchIndexTemplate {
    public static let name = "chat-messages"
    /// Bumped whenever the template changes; the startup check refuses an older one.
    public static let version = 2
    /// Every index of the log matches this; reads go to the pattern, so a month with no index yet
    /// is simply empty rather than an `index_not_found_exception`.
    public static let indexPattern = "chat-messages-*"

    /// The seed's mapping (`chatroom`, `user`, `message`, `timestamp` as epoch_millis) plus `seq`.
    /// `chatroom` is a long because room ids are 64-bit; `dynamic: strict` turns a document
    /// that drifted from this shape into a clear 400 instead of a silently widened mapping.
    public static let json = """
        {
          "index_patterns": ["chat-messages-*"],
          "priority": 100,
          "version": \(version),
          "_meta": {
            "description": "chatd chat log: one index per month (chat-messages-YYYY.MM), documents {room}-{epoch}-{seq}"
          },
          "template": {
            "mappings": {
              "dynamic": "strict",
              "properties": {
                "chatroom": { "type": "long" },
                "user": { "type": "keyword" },
                "message": { "type": "text" },
                "timestamp": { "type": "date", "format": "epoch_millis" },
                "seq": { "type": "long" },
                "epoch": { "type": "keyword" }
              }
            },
            "aliases": {
              "chat-messages": {}
            }
          }
        }
        """

    /// The index a message is written to: `chat-messages-YYYY.MM` of its timestamp, in UTC.
    public static func index(for message: ChatMessage) -> String {
        let (year, month) = civilMonth(millisecondsSinceEpoch: message.timestamp)
        let paddedMonth = month < 10 ? "0\(month)" : "\(month)"
        return "chat-messages-\(year).\(paddedMonth)"
    }

    /// The document id: unique per room and epoch and stable across retries, so a retried or
    /// re-claimed message is stored once and a new epoch's seq 5 is not mistaken for the old one's.
    public static func documentID(for message: ChatMessage) -> String {
        "\(message.room.rawValue)-\(message.epoch.rawValue)-\(message.seq)"
    }

    /// Installs (or replaces) the template. Existing indices keep their mapping; new months get
    /// this one.
    public static func install(on client: ElasticsearchClient) async throws {
        _ = try await client.send(.PUT, "/_index_template/\(name)", body: ByteBuffer(string: json))
    }

    /// Fails with ``ElasticsearchError/templateMissing(endpoint:detail:)`` unless a template of at
    /// least this ``version`` is installed, and with ``ElasticsearchError/unreachable(endpoint:reason:)``
    /// when Elasticsearch does not answer: a server must not start writing into indices that
    /// would get dynamic mappings (where `message` search and `seq` sort would not work).
    public static func verify(on client: ElasticsearchClient) async throws {
        let (status, body) = try await client.send(.GET, "/_index_template/\(name)", accepting: [404])
        guard status == 200 else {
            throw ElasticsearchError.templateMissing(endpoint: client.endpoint.description, detail: "no index template '\(name)'")
        }
        let answer = try ElasticsearchClient.decode(TemplateList.self, from: body, request: "GET /_index_template/\(name)")
        guard let found = answer.index_templates.first(where: { $0.name == name }) else {
            throw ElasticsearchError.templateMissing(endpoint: client.endpoint.description, detail: "no index template '\(name)'")
        }
        let installed = found.index_template.version ?? 0
        guard installed >= version else {
            throw ElasticsearchError.templateMissing(
                endpoint: client.endpoint.description,
                detail: "index template '\(name)' is version \(installed), this build needs \(version)"
            )
        }
    }

    /// `GET _index_template/{name}` as documented: `{"index_templates": [{"name": …, "index_template": {…}}]}`.
    private struct TemplateList: Decodable {
        struct Entry: Decodable {
            struct Template: Decodable {
                var version: Int?
            }

            var name: String
            var index_template: Template
        }

        var index_templates: [Entry]
    }

    /// Year and month (1...12) of a Unix time, proleptic Gregorian, UTC (H. Hinnant's
    /// days-to-civil algorithm): no Calendar, so index names never depend on the host's locale.
    static func civilMonth(millisecondsSinceEpoch: Int64) -> (year: Int64, month: Int64) {
        let millisecondsPerDay: Int64 = 86_400_000
        var days = millisecondsSinceEpoch / millisecondsPerDay
        if millisecondsSinceEpoch % millisecondsPerDay < 0 { days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month)
    }
}
