import ChatStorage

/// `chatd migrate --elasticsearch URL`: installs the chat log's index template. Kept apart
/// from MigrateCommand so the MariaDB migrations can grow there without touching this.
enum ElasticsearchMigration {
    static func run(on endpoint: BackendEndpoint) async throws {
        // A one-shot command an operator waits for: a slow TLS handshake (a loaded machine, a
        // remote cluster) should not fail it, so each connect may take longer than the server's
        // 2 s. Not much longer: the client retries a refused or untrusted connect until this
        // runs out, so it is also how long a wrong URL takes to be reported.
        let client = ElasticsearchClient(endpoint: endpoint, connectTimeout: .seconds(5))
        do {
            try await ElasticsearchIndexTemplate.install(on: client)
            try await ElasticsearchIndexTemplate.verify(on: client)
        } catch let error as ElasticsearchError {
            await client.shutdown()
            throw BackendUnavailable(description: error.description)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        print("Elasticsearch \(endpoint): index template '\(ElasticsearchIndexTemplate.name)' version \(ElasticsearchIndexTemplate.version) installed")
    }
}
