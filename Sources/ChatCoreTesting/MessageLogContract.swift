import ChatCore

/// What every ``MessageLog`` must do.
public enum MessageLogContract {
    public static let cases: [ContractCase<any MessageLog>] = [
        ContractCase("history returns the latest messages before a point, oldest first") { log in
            let room = Unique.room()
            try await log.append((1...10).map { message(room, seq: $0, "m\($0)") })
            try expectEqual(try await log.history(of: room, before: nil, limit: 3).map(\.seq), [8, 9, 10], "latest")
            try expectEqual(try await log.history(of: room, before: 5, limit: 3).map(\.seq), [2, 3, 4], "before 5")
            try expectEqual(try await log.history(of: room, before: 2, limit: 3).map(\.seq), [1], "before 2")
            try expectEqual(try await log.history(of: Unique.room(), before: nil, limit: 3), [], "empty room")
        },
        ContractCase("appending a message twice stores it once") { log in
            let room = Unique.room()
            let batch = (1...3).map { message(room, seq: $0, "m\($0)") }
            try await log.append(batch)
            try await log.append(batch)
            try await log.append([batch[1]])
            try expectEqual(try await log.history(of: room, before: nil, limit: 10), batch, "stored")
        },
        ContractCase("out-of-order batches are kept in sequence order") { log in
            let room = Unique.room()
            try await log.append([message(room, seq: 3, "c"), message(room, seq: 1, "a")])
            try await log.append([message(room, seq: 2, "b")])
            try expectEqual(try await log.history(of: room, before: nil, limit: 10).map(\.text), ["a", "b", "c"], "order")
        },
        ContractCase("search matches every word, ignores case, newest first, paged") { log in
            let room = Unique.room()
            try await log.append([
                message(room, seq: 1, "Hello brave new world"),
                message(room, seq: 2, "hello there"),
                message(room, seq: 3, "WORLD hello, again!"),
                message(room, seq: 4, "nothing to see"),
            ])
            try expectEqual(try await log.search(in: room, matching: "hello world", limit: 10, offset: 0).map(\.seq), [3, 1], "both words")
            try expectEqual(try await log.search(in: room, matching: "HELLO", limit: 2, offset: 0).map(\.seq), [3, 2], "first page")
            try expectEqual(try await log.search(in: room, matching: "hello", limit: 2, offset: 2).map(\.seq), [1], "second page")
            try expectEqual(try await log.search(in: Unique.room(), matching: "hello", limit: 10, offset: 0), [], "other room")
        },
        ContractCase("the same seq under another epoch is another message") { log in
            let room = Unique.room()
            let old = message(room, seq: 5, "old", epoch: "aaaaaaaa")
            let new = message(room, seq: 5, "new", epoch: "bbbbbbbb")
            try await log.append([old])
            try await log.append([new, old])
            try expectEqual(Set(try await log.history(of: room, before: nil, limit: 10)), [old, new], "both stored once")
        },
        ContractCase("the range read returns exactly what came after a position") { log in
            let room = Unique.room()
            let epoch = RoomEpoch(rawValue: "aaaaaaaa")
            let stored = (1...10).map { message(room, seq: $0, "m\($0)", epoch: epoch.rawValue) }
            try await log.append(stored)
            try expectEqual(try await log.messages(of: room, after: stored[3].position, limit: 100), .messages(Array(stored[4...])), "after 4")
            try expectEqual(try await log.messages(of: room, after: stored[3].position, limit: 3), .messages(Array(stored[4...6])), "after 4, at most 3")
            try expectEqual(try await log.messages(of: room, after: stored[9].position, limit: 100), .messages([]), "after the newest")
            try expectEqual(try await log.messages(of: room, after: MessagePosition(epoch: epoch, seq: 0), limit: 100), .messages(stored), "from the start")
            try expectEqual(try await log.messages(of: room, after: MessagePosition(epoch: epoch, seq: 11), limit: 100), .unavailable, "never stored")
            try expectEqual(try await log.messages(of: room, after: MessagePosition(epoch: RoomEpoch(rawValue: "bbbbbbbb"), seq: 4), limit: 100), .unavailable, "another epoch")
            // A new epoch continues above the highest seq: what follows includes it.
            let reset = message(room, seq: 11, "reset", epoch: "cccccccc")
            try await log.append([reset])
            try expectEqual(try await log.messages(of: room, after: stored[8].position, limit: 100), .messages([stored[9], reset]), "across the reset")
        },
    ]

    static func message(_ room: RoomID, seq: Int64, _ text: String, epoch: String = "aaaaaaaa") -> ChatMessage {
        ChatMessage(room: room, user: UserName(trusted: "tester"), text: text, timestamp: 1_732_860_000_000 + seq, seq: seq, epoch: RoomEpoch(rawValue: epoch))
    }
}
