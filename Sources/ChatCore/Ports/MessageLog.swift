/// The durable chat log (Elasticsearch in production): every message ever posted, for
/// playback beyond the broker's recent history, for a resume, and for search.
public protocol MessageLog: Sendable {
    /// Stores messages. Idempotent: a message with a (room, epoch, seq) already stored is not
    /// stored again, so a retried batch never duplicates; the same seq under another epoch is
    /// another message.
    func append(_ messages: [ChatMessage]) async throws

    /// Up to `limit` messages of `room` with a sequence number below `seq` (all when `nil`),
    /// the newest of those, returned oldest first.
    func history(of room: RoomID, before seq: Int64?, limit: Int) async throws -> [ChatMessage]

    /// The messages of `room` after `position`, at most `limit`, in seq order (see
    /// ``MessageRange``). Served when the log holds `position` itself or `(epoch, seq + 1)`;
    /// otherwise ``MessageRange/unavailable``. What follows includes later epochs' messages
    /// with a higher seq (a new epoch continues above the highest seq seen).
    func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange

    /// Messages of `room` whose text matches every word of `query` (case-insensitive),
    /// newest first, skipping `offset` and returning at most `limit`.
    func search(in room: RoomID, matching query: String, limit: Int, offset: Int) async throws -> [ChatMessage]
}
