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
    ]

    static func message(_ room: RoomID, seq: Int64, _ text: String) -> ChatMessage {
        ChatMessage(room: room, user: UserName(trusted: "tester"), text: text, timestamp: 1_732_860_000_000 + seq, seq: seq)
    }
}
