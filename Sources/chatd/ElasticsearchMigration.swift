import ChatStorage

/// `chatd migrate --elasticsearch URL`: installs the chat log's index template. Kept apart
/// from MigrateCommand so the MariaDB migrations can grow there without touching this.
enum ElasticsearchMigration {
    static func run(on endpoint: BackendEndpoint) async throws {
        let client = ElasticsearchClient(endpoint: endpoint)
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
