import ArgumentParser
import ChatStorage
import Foundation

/// Certificate authorities for TLS to the backends. TLS itself is chosen by the URL
/// (`rediss://`, `https://`, MariaDB's `?ssl=true&ca=FILE`); these name the CA of Redis and
/// Elasticsearch as flags (their URLs may also carry `?ca=FILE`).
struct BackendTLSOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "PEM file of the CA that signs Redis's certificate, with a rediss:// URL; default: the system's trust store (env CHATD_REDIS_CA).",
        valueName: "file"
    ))
    var redisCa: String?

    @Option(help: ArgumentHelp(
        "PEM file of the CA that signs Elasticsearch's certificate, with an https:// URL; default: the system's trust store (env CHATD_ELASTICSEARCH_CA).",
        valueName: "file"
    ))
    var elasticsearchCa: String?

    /// Sets each CA on its endpoint and reads every CA file once, so an unreadable or malformed
    /// one stops chatd at startup with its name.
    func apply(to selection: inout BackendSelection, environment: [String: String]) throws {
        if let file = redisCa ?? environment["CHATD_REDIS_CA"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard selection.redis?.tls != nil else { throw ValidationError("--redis-ca needs a rediss:// URL in --redis") }
            selection.redis?.tls?.certificateAuthorityFile = file
        }
        if let file = elasticsearchCa ?? environment["CHATD_ELASTICSEARCH_CA"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard selection.elasticsearch?.tls != nil else {
                throw ValidationError("--elasticsearch-ca needs an https:// URL in --elasticsearch")
            }
            selection.elasticsearch?.tls?.certificateAuthorityFile = file
        }
        for endpoint in [selection.redis, selection.mariadb, selection.elasticsearch].compactMap({ $0 }) {
            do {
                _ = try endpoint.tls?.clientConfiguration()
            } catch {
                throw ValidationError("--\(endpoint.kind.rawValue): \(error.description)")
            }
        }
    }
}
