import Synchronization

/// The chat log in process memory: messages for history beyond the broker's ring, and search.
///
/// Keeps the latest `retentionPerRoom` messages of each room, so the embedded default's memory
/// stays bounded however long it runs; a real log (Elasticsearch) keeps everything.
public final class InMemoryMessageLog: MessageLog {
    /// Per room, messages sorted by `seq` (equal seqs of different epochs in arrival order).
    private let rooms = Mutex<[RoomID: [ChatMessage]]>([:])
    public let retentionPerRoom: Int

    public init(retentionPerRoom: Int = 100_000) {
        precondition(retentionPerRoom > 0)
        self.retentionPerRoom = retentionPerRoom
    }

    public func append(_ messages: [ChatMessage]) async throws {
        let retention = retentionPerRoom
        rooms.withLock { rooms in
            for message in messages {
                // Mutated in place through the dictionary: a local copy would copy the whole log.
                Self.insert(message, into: &rooms[message.room, default: []], retention: retention)
            }
        }
    }

    public func history(of room: RoomID, before seq: Int64?, limit: Int) async throws -> [ChatMessage] {
        guard limit > 0 else { return [] }
        return rooms.withLock { rooms in
            guard let log = rooms[room] else { return [] }
            let end = seq.map { Self.insertionIndex(of: $0, in: log) } ?? log.count
            return Array(log[max(0, end - limit)..<end])
        }
    }

    public func messages(of room: RoomID, after position: MessagePosition, limit: Int) async throws -> MessageRange {
        rooms.withLock { rooms in
            guard let log = rooms[room] else { return .unavailable }
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
        guard !terms.isEmpty, limit > 0 else { return [] }
        return rooms.withLock { rooms in
            let matches = (rooms[room] ?? []).reversed().lazy.filter { terms.isSubset(of: TextTerms.of($0.text)) }
            return Array(matches.dropFirst(max(0, offset)).prefix(limit))
        }
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
