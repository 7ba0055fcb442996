import ChatCore

/// What every ``MessageBroker`` must do about positions: epochs, idempotent posts and the range
/// read of a resume (part of ``MessageBrokerContract/cases``).
public enum MessageBrokerEpochContract {
    public static let cases: [ContractCase<BrokerFixture>] = [
        ContractCase("a room keeps one epoch while its numbering continues, on every server") { fixture in
            let room = Unique.room()
            let here = try await fixture.makeBroker()
            let there = try await fixture.makeBroker()
            var positions: [MessagePosition] = []
            for broker in [here, there, here] { positions.append(try await broker.publish(draft(room, "m")).position) }
            try expectEqual(positions.map(\.seq), [1, 2, 3], "seqs")
            try expectEqual(Set(positions.map(\.epoch)).count, 1, "epochs of \(positions)")
            try expect(positions[0].epoch != .legacy, "a new room gets a fresh epoch, not the legacy one")
            let other = try await here.publish(draft(Unique.room(), "m")).position
            try expect(other.epoch != positions[0].epoch, "another room, another epoch")
        },
        ContractCase("a post id published again by the same user in the same room is a repeat") { fixture in
            let room = Unique.room()
            let broker = try await fixture.makeBroker()
            let collector = Collector()
            let subscription = try await broker.subscribe(to: room) { collector.add($0) }
            let first = try await broker.publish(draft(room, "hello", postID: "c1"))
            let again = try await fixture.makeBroker().publish(draft(room, "hello", postID: "c1"))
            try expectEqual(first.isRepeat, false, "first post")
            try expectEqual(again.isRepeat, true, "second post")
            try expectEqual(again.position, first.position, "the first answer again")
            // The same id by another user, or in another room, is another post.
            let otherUser = try await broker.publish(draft(room, "hi", postID: "c1", user: Unique.user()))
            try expectEqual(otherUser.isRepeat, false, "another user's c1")
            try expectEqual(otherUser.position.seq, 2, "another user's c1 is published")
            try expectEqual(try await broker.publish(draft(Unique.room(), "x", postID: "c1")).isRepeat, false, "c1 in another room")
            let next = try await broker.publish(draft(room, "next", postID: "c2"))
            try expectEqual(next.position.seq, 3, "seq after the repeat")
            try await collector.wait(for: 3)
            try expectEqual(collector.messages.map(\.text), ["hello", "hi", "next"], "delivered once each")
            try expectEqual(try await broker.recentHistory(of: room, limit: 10).map(\.text), ["hello", "hi", "next"], "history")
            await subscription.cancel()
        },
        ContractCase("the range read returns exactly what came after a position") { fixture in
            let room = Unique.room()
            let broker = try await fixture.makeBroker()
            var messages: [ChatMessage] = []
            for index in 1...10 { messages.append(try await broker.publish(draft(room, "m\(index)")).message) }
            let epoch = messages[0].epoch
            try expectEqual(try await broker.messages(of: room, after: messages[3].position, limit: 100), .messages(Array(messages[4...])), "after 4")
            try expectEqual(try await broker.messages(of: room, after: messages[3].position, limit: 2), .messages(Array(messages[4...5])), "after 4, at most 2")
            try expectEqual(try await broker.messages(of: room, after: messages[9].position, limit: 100), .messages([]), "after the newest")
            try expectEqual(try await broker.messages(of: room, after: MessagePosition(epoch: epoch, seq: 0), limit: 100), .messages(messages), "from the start")
            try expectEqual(try await broker.messages(of: room, after: MessagePosition(epoch: epoch, seq: 11), limit: 100), .unavailable, "a position never published")
            try expectEqual(try await broker.messages(of: room, after: MessagePosition(epoch: RoomEpoch(rawValue: "zzzzzzzz"), seq: 4), limit: 100), .unavailable, "another epoch")
            try expectEqual(try await broker.messages(of: Unique.room(), after: MessagePosition(epoch: epoch, seq: 4), limit: 100), .unavailable, "another room")
        },
        ContractCase("a counter set back or lost starts a new epoch above the highest seq, delivered to every server") { fixture in
            guard let setBackCounter = fixture.setBackCounter else { return }
            let room = Unique.room()
            let publisher = try await fixture.makeBroker()
            let remote = Collector()
            let subscription = try await fixture.makeBroker().subscribe(to: room) { remote.add($0) }
            var before: [MessagePosition] = []
            for index in 1...5 { before.append(try await publisher.publish(draft(room, "m\(index)")).position) }
            try await setBackCounter(room, 2)
            let lowered = try await publisher.publish(draft(room, "after set back")).position
            try expect(lowered.epoch != before[0].epoch, "a new epoch after the counter was set back: \(lowered)")
            try expect(lowered.seq > 5, "numbering continues above the highest seq: \(lowered)")
            try await setBackCounter(room, nil)
            let lost = try await publisher.publish(draft(room, "after loss")).position
            try expect(lost.epoch != lowered.epoch, "a new epoch after the counter was lost: \(lost)")
            try expect(lost.seq > lowered.seq, "numbering continues: \(lost)")
            let next = try await publisher.publish(draft(room, "then")).position
            try expectEqual(next, MessagePosition(epoch: lost.epoch, seq: lost.seq + 1), "then counts on in the new epoch")
            try await remote.wait(for: 8)
            try expectEqual(remote.messages.map(\.text), ["m1", "m2", "m3", "m4", "m5", "after set back", "after loss", "then"], "delivered")
            let recent = try await publisher.recentHistory(of: room, limit: 10)
            try expectEqual(recent.map(\.position), before + [lowered, lost, next], "history")
            await subscription.cancel()
        },
    ]

    static func draft(_ room: RoomID, _ text: String, postID: String? = nil, user: UserName = UserName(trusted: "tester")) -> MessageDraft {
        MessageDraft(room: room, user: user, text: text, timestamp: 1_732_860_000_000, postID: postID.map { PostID(rawValue: $0) })
    }
}
