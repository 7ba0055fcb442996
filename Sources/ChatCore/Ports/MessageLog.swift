/// The durable chat log (Elasticsearch in production): every message ever posted, for
/// playback beyond the broker's recent history and for search.
public protocol MessageLog: Sendable {
    /// Stores messages. Idempotent: a message with a (room, seq) already stored is not stored again,
    /// so a retried batch never duplicates.
    func append(_ messages: [ChatMessage]) async throws

    /// Up to `limit` messages of `room` with a sequence number below `seq` (all when `nil`),
    /// the newest of those, returned oldest first.
    func history(of room: RoomID, before seq: Int64?, limit: Int) async throws -> [ChatMessage]

    /// Messages of `room` whose text matches every word of `query` (case-insensitive),
    /// newest first, skipping `offset` and returning at most `limit`.
    func search(in room: RoomID, matching query: String, limit: Int, offset: Int) async throws -> [ChatMessage]
}
