import ChatCore
import ChatTestServices
import ChatTransport
import NIOCore
import Testing

/// One memory budget for all outbound queues: many readers that stop reading, each well
/// under its own bound, cannot together hold more than the budget, and readers keep receiving.
@Suite(.timeLimit(.minutes(3)))
struct OutboundBudgetTests {
    @Test func manyStalledReadersStayUnderTheBudgetWhileTheReaderKeepsReceiving() async throws {
        let budget = 2 * 1024 * 1024
        var configuration = ChatServerConfiguration(
            maximumQueuedBytesPerConnection: 64 * 1024 * 1024,  // far above what each gets: only the budget can act
            closeTimeout: .seconds(1),
            maximumMessagesPerSecond: nil
        )
        configuration.abuseLimits.outboundMemoryBudget = budget
        try await TestServer.with(configuration: configuration) { server in
            let room = try await server.createRoom()
            try await server.createUser("Reader")
            let stalledCount = 8
            var stalled: [any Channel] = []
            for index in 0..<stalledCount {
                try await server.createUser("Stalled\(index)")
                stalled.append(try await RawHTTP.stalledJoin(port: server.port, path: server.joinPath(room: room, user: "Stalled\(index)")))
            }
            let reader = try await ChatClient.join(server.joinURL(room: room, user: "Reader"))
            _ = try await eventually("all joined") { try await server.users(in: room).count == stalledCount + 1 ? true : nil }

            // 4.8 MB to each stalled reader, 38 MB for all of them: far over the budget.
            let text = String(repeating: "x", count: 12_000)
            let total = 400
            // Ten at a time, each ten delivered before the next: a flush sees at most ten new messages.
            for index in 0..<total {
                reader.send("\(index) \(text)")
                if index % 10 == 9 { try await reader.waitForMessages(index + 1, within: 60) }
            }
            let received = try await reader.waitForMessages(total, within: 60)
            #expect(received.map(\.seq) == Array(1...Int64(total)), "the reader got everything, in order")
            #expect(server.counters.outboundBudgetClosed >= 1, "the budget closed stalled readers")
            #expect(server.counters.slowConsumersClosed == 0, "not the per-connection bound")
            // Measured once per flush, by each event loop for its own members: between two
            // flushes each stalled queue grows by at most ten messages, and the other loop's
            // share was measured at its last flush, up to one flush earlier: so the peak stays
            // within the budget plus two flushes' growth of every stalled queue (38 MB were sent).
            let margin = stalledCount * 2 * 10 * 12_100
            #expect(
                server.counters.outboundQueuedBytesPeak <= budget + margin,
                "peak \(server.counters.outboundQueuedBytesPeak) bytes for a budget of \(budget)"
            )
            #expect(server.counters.outboundQueuedBytesPeak > 0, "the queues were measured")
            for channel in stalled { channel.close(promise: nil) }
            _ = try await eventually("the closed readers leave the count", timeout: .seconds(30)) { server.counters.outboundQueuedBytes == 0 ? true : nil }
            await reader.leave()
        }
    }
}
