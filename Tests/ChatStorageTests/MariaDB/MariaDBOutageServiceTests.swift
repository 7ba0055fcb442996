import ChatCore
import ChatStorage
import Synchronization
import Testing

/// The issue's promise for a MariaDB outage, at the service layer the transports call: the
/// REST-facing use cases fail as ``ChatError/backendUnavailable(_:)`` (HTTP 503), rooms that are
/// already joined keep chatting (posting needs only the broker), and all recovers when
/// MariaDB returns.
@Suite struct MariaDBOutageServiceTests {
    @Test(.timeLimit(.minutes(2)))
    func joinedRoomsKeepChattingWhileMariaDBIsDownAndTheAPIRecovers() async throws {
        let server = PrivateMariaDBServer()
        try await server.start()
        do {
            try await MariaDBTestServer.withPool(server.configuration) { pool in
                try await MariaDBTestServer.migrator().migrate(pool)
                var backends = ChatBackends.inMemory()
                backends.users = MariaDBUserStore(pool: pool)
                backends.rooms = MariaDBRoomStore(pool: pool)
                let service = ChatService(backends: backends)
                let john = try await service.createUser(named: "John")
                let room = try await service.createRoom()
                _ = try await service.admit(user: "John", to: room)
                let received = Mutex<[String]>([])
                let subscription = try await service.subscribe(to: room) { message in
                    received.withLock { $0.append(message.text) }
                }

                try await server.stop()
                await #expect(throws: ChatError.self) { _ = try await service.rooms() }
                do {
                    _ = try await service.createUser(named: "Ann")
                    Issue.record("creating a user with MariaDB down should fail")
                } catch {
                    guard case ChatError.backendUnavailable = error else { throw error }
                }
                _ = try await service.post("still here", by: john, in: room)
                for _ in 0..<100 where received.withLock({ $0.isEmpty }) {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(received.withLock { $0 } == ["still here"], "the joined room kept chatting")

                try await server.start()
                #expect(try await service.rooms() == [room], "the API recovered")
                _ = try await service.createUser(named: "Ann")
                await subscription.cancel()
            }
        } catch {
            await server.remove()
            throw error
        }
        await server.remove()
    }
}
