import Synchronization

/// The chat log in process memory: messages for history beyond the broker's ring, and search.
///
/// Keeps the latest `retentionPerRoom` messages of each room, so the embedded default's memory
/// stays bounded however long it runs; a real log (Elasticsearch) keeps everything.
public final class InMemoryMessageLog: MessageLog {
    /// One room's messages, sorted by `seq` (equal seqs of different epochs in arrival order), behind a lock of its own: a search or a history
    /// read in one room never waits for, nor holds up, another room.
    private final class RoomLog: Sendable {
        let messages = Mutex<[ChatMessage]>([])
    }

    /// The rooms; locked only to find or add a room.
    private let rooms = Mutex<[RoomID: RoomLog]>([:])
    public let retentionPerRoom: Int

    public init(retentionPerRoom: Int = 100_000) {
        precondition(retentionPerRoom > 0)
        self.retentionPerRoom = retentionPerRoom
    }

    private func log(of room: RoomID, creating: Bool) -> RoomLog? {
        rooms.withLock { rooms in
            if let log = rooms[room] { return log }
            guard creating else { return nil }
            let log = RoomLog()
            rooms[room] = log
            return log
        }
    }

    public func append(_ messages: [ChatMessage]) async throws {
        let retention = retentionPerRoom
        var start = messages.startIndex
        while start < messages.endIndex {
            // A run of one room's messages (a batch is usually one room) under that room's lock.
            let room = messages[start].room
            let end = messages[start...].firstIndex { $0.room != room } ?? messages.endIndex
            let log = log(of: room, creating: true)!
            log.messages.withLock { stored in
                for message in messages[start..<end] {
                    Self.insert(message, into: &stored, retention: retention)
                }
            }
            start = end
        }
    }

    public func history(of room: RoomID, before seq: Int64?, limit: Int) async throws -> [ChatMessage] {
        guard limit > 0, let log = log(of: room, creating: false) else { return [] }
        return log.messages.withLock { stored in
            let end = seq.map { Self.insertionIndex(of: $0, in: stored) } ?? stored.count
            return Array(stored[max(0, end - limit)..<end])
        }
    }

    public func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange {
        guard let log = log(of: room, creating: false) else { return .unavailable }
        return log.messages.withLock { log in
            let next = MessagePosition(epoch: position.epoch, seq: position.seq + 1)
            let start = Self.insertionIndex(of: position.seq, in: log)
            let known = log[start...].prefix { $0.seq <= next.seq }.contains { $0.position == position || $0.position == next }
            guard known else { return .unavailable }
            let after = Self.insertionIndex(of: position.seq + 1, in: log)
            return .messages(Array(log[after...].prefix(max(0, limit))))
        }
    }

    public func search(in room: RoomID, matching query: String, limit: Int, offset: Int) async throws -> [ChatMessage] {
        let terms = TextTerms.of(query)
        guard !terms.isEmpty, limit > 0, let log = log(of: room, creating: false) else { return [] }
        // The scan runs on a snapshot, outside every lock: taking it is O(1) (the array is
        // shared); the room's next append then copies it once, under the room's lock only.
        let snapshot = log.messages.withLock { $0 }
        let matches = snapshot.reversed().lazy.filter { terms.isSubset(of: TextTerms.of($0.text)) }
        return Array(matches.dropFirst(max(0, offset)).prefix(limit))
    }

    private static func insert(_ message: ChatMessage, into log: inout [ChatMessage], retention: Int) {
        if log.last.map({ $0.seq < message.seq }) ?? true {
            log.append(message)  // the usual case: messages arrive in order
        } else {
            var index = insertionIndex(of: message.seq, in: log)
            while index < log.count, log[index].seq == message.seq {
                if log[index].epoch == message.epoch { return }  // already stored
                index += 1  // the same seq under another epoch: another message
            }
            if index == 0, log.count >= retention { return }  // older than everything retained
            log.insert(message, at: index)
        }
        if log.count > retention + retention / 8 {
            // Trim in chunks so the amortised cost of an append stays O(1).
            log.removeFirst(log.count - retention)
        }
    }

    private static func insertionIndex(of seq: Int64, in log: [ChatMessage]) -> Int {
        var low = 0
        var high = log.count
        while low < high {
            let mid = (low + high) / 2
            if log[mid].seq < seq { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// Splits text into lower-cased words, roughly as Elasticsearch's standard analyzer does,
/// so the in-memory log and the real one agree on what a match is.
enum TextTerms {
    static func of(_ text: String) -> Set<String> {
        var terms = Set<String>()
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                terms.insert(current)
                current = ""
            }
        }
        if !current.isEmpty { terms.insert(current) }
        return terms
    }
}
