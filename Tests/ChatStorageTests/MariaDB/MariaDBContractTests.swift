import ChatCore
import ChatCoreTesting
import ChatStorage
import Testing

/// The ChatCore contract suites against the MariaDB adapters on a real server. Each case gets
/// a freshly migrated database of its own, so even "delete all users" cannot disturb another
/// case and the suites need not be serialized.
@Suite struct MariaDBContractTests {
    @Test(arguments: UserStoreContract.cases)
    func userStore(_ contract: ContractCase<any UserStore>) async throws {
        try await MariaDBTestServer.withDatabase { pool in
            try await contract.run(against: MariaDBUserStore(pool: pool))
        }
    }

    @Test(arguments: CredentialStoreContract.cases)
    func credentialStore(_ contract: ContractCase<CredentialFixture>) async throws {
        try await MariaDBTestServer.withDatabase { pool in
            try await contract.run(
                against: CredentialFixture(users: MariaDBUserStore(pool: pool), credentials: MariaDBCredentialStore(pool: pool))
            )
        }
    }

    @Test(arguments: RoomStoreContract.cases)
    func roomStore(_ contract: ContractCase<any RoomStore>) async throws {
        try await MariaDBTestServer.withDatabase { pool in
            try await contract.run(against: MariaDBRoomStore(pool: pool))
        }
    }
}
