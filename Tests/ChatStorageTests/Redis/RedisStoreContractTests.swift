import ChatCore
import ChatCoreTesting
@testable import ChatStorage
import Testing

/// The user, room and credential contract suites against the Redis stores (`--redis` without
/// `--mariadb`), on database 10 of the test Redis, and what Redis adds to them: a second
/// server's client sees the same users and ids, every key carries the store's hash tag and
/// lives in the selected database. "Delete all" empties the whole store, so the cases run one
/// after another.
@Suite(.serialized) struct RedisStoreContractTests {
    static let database = 10

    /// Runs `body` with a client on the suite's database, shut down afterwards.
    static func withClient(_ body: (RedisClient) async throws -> Void) async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(database: database), logger: TestRedis.logger)
        do {
            try await body(client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    @Test(arguments: UserStoreContract.cases)
    func userStore(_ contract: ContractCase<any UserStore>) async throws {
        try await Self.withClient { client in try await contract.run(against: RedisUserStore(client: client)) }
    }

    @Test(arguments: RoomStoreContract.cases)
    func roomStore(_ contract: ContractCase<any RoomStore>) async throws {
        try await Self.withClient { client in try await contract.run(against: RedisRoomStore(client: client)) }
    }

    @Test(arguments: CredentialStoreContract.cases)
    func credentialStore(_ contract: ContractCase<CredentialFixture>) async throws {
        try await Self.withClient { client in
            let fixture = CredentialFixture(users: RedisUserStore(client: client), credentials: RedisCredentialStore(client: client))
            try await contract.run(against: fixture)
        }
    }

    /// As MariaDB's foreign key refuses it: no token or password for a user that does not exist.
    @Test func aCredentialForAnUnknownUserIsRefusedAndNotKept() async throws {
        try await Self.withClient { client in
            let credentials = RedisCredentialStore(client: client)
            let ghost = UserName(trusted: "ghost-\(UInt32.random(in: 0...UInt32.max))")
            let token = TokenHash(hex: String(repeating: "ab", count: 32))
            await #expect(throws: ChatError.unknownUser(ghost)) { try await credentials.addToken(token, for: ghost) }
            await #expect(throws: ChatError.unknownUser(ghost)) { try await credentials.setPasswordHash("$2b$04$x", for: ghost) }
            let holder = try await credentials.user(holding: token)
            let password = try await credentials.passwordHash(of: ghost)
            #expect(holder == nil && password == nil, "nothing was kept")
        }
    }

    /// Two servers are two clients: one name once, ids strictly increasing whichever creates.
    @Test func twoServersShareOneUserSetAndOneRoomCounter() async throws {
        try await Self.withClient { first in
            try await Self.withClient { second in
                let name = UserName(trusted: "shared-\(UInt32.random(in: 0...UInt32.max))")
                try await RedisUserStore(client: first).create(name)
                await #expect(throws: ChatError.userNameTaken(name)) { try await RedisUserStore(client: second).create(name) }
                var ids: [RoomID] = []
                for index in 0..<6 {
                    ids.append(try await RedisRoomStore(client: index.isMultiple(of: 2) ? first : second).create())
                }
                #expect(ids == ids.sorted() && Set(ids).count == ids.count, "strictly increasing across servers: \(ids)")
                #expect(try await RedisRoomStore(client: second).all().suffix(6) == ids[...])
            }
        }
    }

    /// Every store key has the one hash tag (one slot on a cluster) and is in database 10, not 0.
    @Test func theStoreKeysCarryTheHashTagAndLiveInTheSelectedDatabase() async throws {
        try await Self.withClient { client in
            let name = UserName(trusted: "tagged-\(UInt32.random(in: 0...UInt32.max))")
            try await RedisUserStore(client: client).create(name)
            try await RedisCredentialStore(client: client).setPasswordHash("$2b$04$tag", for: name)
            try await RedisCredentialStore(client: client).addToken(TokenHash(hex: String(repeating: "cd", count: 32)), for: name)
            let room = try await RedisRoomStore(client: client).create()
            let keys = try await client.command(["KEYS", "*chat:store*"]).array?.compactMap(\.string) ?? []
            // Redis Cluster hashes the first `{…}` of a key: the same for all of them, one slot.
            let names = ["users", "passwords", "tokens", "room-id", "rooms"].map { "{chat:store}:\($0)" }
            #expect(Set(keys) == Set(names))

            let databaseZero = RedisClient(configuration: try TestRedis.configuration(database: 0), logger: TestRedis.logger)
            #expect(try await databaseZero.command(["SISMEMBER", "{chat:store}:users", name.rawValue]).int == 0)
            #expect(try await databaseZero.command(["ZSCORE", "{chat:store}:rooms", room.description]).isNull)
            await databaseZero.shutdown()
        }
    }

    /// A key of the wrong type is a bug, not an outage: its error reply reaches the service
    /// (which logs it) as it is.
    @Test func anErrorReplyThatARetryCannotFixIsPassedOn() async throws {
        try await Self.withClient { client in
            try await client.command(["DEL", "{chat:store}:rooms"])
            try await client.command(["SET", "{chat:store}:rooms", "not a sorted set"])
            await #expect { _ = try await RedisRoomStore(client: client).all() } throws: { error in
                (error as? RedisError)?.code == "WRONGTYPE"
            }
            try await client.command(["DEL", "{chat:store}:rooms"])
        }
    }
}

/// A Redis the stores cannot reach: the error a MariaDB that is down gives (HTTP 503 with a
/// message), not a Redis detail.
@Suite struct RedisStoreOutageTests {
    @Test(.timeLimit(.minutes(1))) func anUnreachableRedisIsBackendUnavailableForEveryStore() async throws {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: 1)  // nothing listens
        configuration.connectTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: TestRedis.logger)
        let unavailable = ChatError.backendUnavailable("the user and room store (Redis) is unreachable")
        let name = UserName(trusted: "Ann")
        await #expect(throws: unavailable) { try await RedisUserStore(client: client).create(name) }
        await #expect(throws: unavailable) { _ = try await RedisUserStore(client: client).contains(name) }
        await #expect(throws: unavailable) { _ = try await RedisRoomStore(client: client).create() }
        await #expect(throws: unavailable) { _ = try await RedisRoomStore(client: client).all() }
        await #expect(throws: unavailable) { try await RedisCredentialStore(client: client).addToken(TokenHash(hex: "00"), for: name) }
        await #expect(throws: unavailable) { _ = try await RedisCredentialStore(client: client).user(holding: TokenHash(hex: "00")) }
        await client.shutdown()
    }

    @Test func aLoadingOrReadOnlyRedisIsUnavailableAndOtherRepliesAreNot() {
        #expect(!RedisStoreFailure.isPermanent(RedisError("LOADING Redis is loading the dataset in memory")))
        #expect(!RedisStoreFailure.isPermanent(RedisError("READONLY You can't write against a read only replica.")))
        #expect(!RedisStoreFailure.isPermanent(RedisError("Redis at 127.0.0.1:6379 is unavailable: cannot connect")))
        #expect(!RedisStoreFailure.isPermanent(RedisError("Redis did not answer EVALSHA in time")))
        #expect(RedisStoreFailure.isPermanent(RedisError("WRONGTYPE Operation against a key holding the wrong kind of value")))
        #expect(RedisStoreFailure.isPermanent(RedisError("ERR user_script:1: Script attempted to access nonexistent global variable")))
    }
}
