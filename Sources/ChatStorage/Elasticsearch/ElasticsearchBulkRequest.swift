import ChatCore
import Foundation
import NIOCore

/// One `_bulk` request of chat messages: `create` actions with the deterministic id
/// `{room}-{epoch}-{seq}` in the index of each message's month, and what Elasticsearch said about
/// each item. The one writer of the chat log's documents, used by the in-process indexer
/// (``ElasticsearchBulkIndexer``) and the consumer-group indexer (``RedisChatLogIndexer``).
enum ElasticsearchBulkRequest {
    enum Outcome: Equatable {
        /// Stored now.
        case created
        /// Stored before (409 on `create`): a retried or re-claimed message.
        case alreadyStored
        /// 429 or 5xx for this item: send it again.
        case retry(String)
        /// Refused for good (a mapping error): retrying would stall the log behind it.
        case rejected(status: Int, reason: String)

        /// Elasticsearch holds the message (or never will): it may be forgotten.
        var isSettled: Bool {
            if case .retry = self { false } else { true }
        }
    }

    /// Sends `messages` (one request) and returns one outcome per message, in order. Throws when
    /// the request as a whole failed: then nothing may be taken as stored.
    static func send(_ messages: [ChatMessage], on client: ElasticsearchClient, refresh: Bool) async throws -> [Outcome] {
        var body = ByteBuffer()
        let encoder = JSONEncoder()
        for message in messages {
            let action = BulkAction(create: .init(_index: ElasticsearchIndexTemplate.index(for: message), _id: ElasticsearchIndexTemplate.documentID(for: message)))
            body.writeBytes(try encoder.encode(action))
            body.writeInteger(UInt8(ascii: "\n"))
            body.writeBytes(try encoder.encode(message))
            body.writeInteger(UInt8(ascii: "\n"))
        }
        let path = refresh ? "/_bulk?refresh=wait_for" : "/_bulk"
        let (_, answer) = try await client.send(.POST, path, body: body, contentType: "application/x-ndjson")
        let response = try ElasticsearchClient.decode(BulkResponse.self, from: answer, request: "POST /_bulk")
        guard response.items.count == messages.count else {
            throw ElasticsearchError.malformedAnswer(request: "POST /_bulk", reason: "\(response.items.count) items for \(messages.count) actions")
        }
        return response.items.map { item in
            let result = item.result
            switch result.status {
            case 200..<300: return .created
            case 409: return .alreadyStored
            case 429, 500...: return .retry(result.error?.summary ?? "status \(result.status)")
            default: return .rejected(status: result.status, reason: result.error?.summary ?? "")
            }
        }
    }
}
