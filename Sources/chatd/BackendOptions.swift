import ArgumentParser
import ChatStorage
import Foundation

/// The backend URLs, each from its flag or else its environment variable; missing means in-memory.
struct BackendOptions: ParsableArguments {
    @Option(help: "Redis URL for the broker and presence, and for users and rooms without --mariadb (with it, the room-list cache), e.g. redis://127.0.0.1:6379 (env CHATD_REDIS_URL).")
    var redis: String?

    @Option(help: "MariaDB URL for users and rooms, e.g. mariadb://chat:secret@127.0.0.1:3306/chat (env CHATD_MARIADB_URL).")
    var mariadb: String?

    @Option(help: "Elasticsearch URL for the chat log, e.g. http://127.0.0.1:9200 (env CHATD_ELASTICSEARCH_URL).")
    var elasticsearch: String?

    @Option(help: "Seconds a server's presence lease lasts with Redis; a crashed server's users vanish within 1.5 times this (env CHATD_PRESENCE_LEASE, default 10, at most 20).")
    var presenceLease: Int?

    @OptionGroup(title: "TLS to the backends") var tls: BackendTLSOptions

    func selection(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> BackendSelection {
        var selection: BackendSelection
        do {
            selection = try BackendSelection(
                redis: redis ?? environment["CHATD_REDIS_URL"],
                mariadb: mariadb ?? environment["CHATD_MARIADB_URL"],
                elasticsearch: elasticsearch ?? environment["CHATD_ELASTICSEARCH_URL"]
            )
        } catch {
            throw ValidationError(error.description)
        }
        if let text = presenceLease.map(String.init) ?? environment["CHATD_PRESENCE_LEASE"] {
            // At most 20 s, so that reaping (1.5 leases) stays within the 30 s the design allows.
            guard let seconds = Int(text), (1...20).contains(seconds) else {
                throw ValidationError("presence lease must be 1 to 20 seconds, got '\(text)'")
            }
            selection.presenceLease = .seconds(seconds)
        }
        try tls.apply(to: &selection, environment: environment)
        return selection
    }
}
