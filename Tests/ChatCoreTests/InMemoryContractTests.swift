import ChatCore
import ChatCoreTesting
import Testing

/// The contract suites against the in-memory implementations, one fresh instance per case.
@Suite struct InMemoryContractTests {
    @Test(arguments: UserStoreContract.cases)
    func userStore(_ contract: ContractCase<any UserStore>) async throws {
        try await contract.run(against: InMemoryUserStore())
    }

    @Test(arguments: CredentialStoreContract.cases)
    func credentialStore(_ contract: ContractCase<CredentialFixture>) async throws {
        try await contract.run(against: CredentialFixture(users: InMemoryUserStore(), credentials: InMemoryCredentialStore()))
    }

    @Test(arguments: RoomStoreContract.cases)
    func roomStore(_ contract: ContractCase<any RoomStore>) async throws {
        try await contract.run(against: InMemoryRoomStore())
    }

    @Test(arguments: RoomStoreContract.cases)
    func cachingRoomStore(_ contract: ContractCase<any RoomStore>) async throws {
        try await contract.run(against: CachingRoomStore(base: InMemoryRoomStore(), cache: InMemoryChatCache(), logger: .init(label: "test")))
    }

    @Test(arguments: PresenceStoreContract.cases)
    func presenceStore(_ contract: ContractCase<any PresenceStore>) async throws {
        try await contract.run(against: InMemoryPresenceStore())
    }

    /// In memory the cluster is this process: both handles are one object.
    @Test(arguments: ClusterControlContract.cases)
    func clusterControl(_ contract: ContractCase<ClusterControlContract.Fixture>) async throws {
        let cluster = InMemoryClusterControl()
        try await contract.run(against: ClusterControlContract.Fixture(first: cluster, second: cluster))
    }

    @Test(arguments: MessageBrokerContract.cases)
    func messageBroker(_ contract: ContractCase<BrokerFixture>) async throws {
        let broker = InMemoryMessageBroker()
        try await contract.run(against: BrokerFixture { broker })
    }

    @Test(arguments: MessageLogContract.cases)
    func messageLog(_ contract: ContractCase<any MessageLog>) async throws {
        try await contract.run(against: InMemoryMessageLog())
    }

    @Test(arguments: ChatCacheContract.cases)
    func chatCache(_ contract: ContractCase<any ChatCache>) async throws {
        try await contract.run(against: InMemoryChatCache())
    }
}
