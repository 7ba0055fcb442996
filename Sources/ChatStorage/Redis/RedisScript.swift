import Synchronization

/// A Lua script run by its SHA1 (EVALSHA), loaded once with SCRIPT LOAD; when Redis no longer
/// knows it (a restart, SCRIPT FLUSH) the call falls back to EVAL, which caches it again.
/// Scripts are how the adapters make a multi-key change atomic without MULTI round trips.
final class RedisScript: Sendable {
    let source: String
    private let sha = Mutex<String?>(nil)

    init(_ source: String) {
        self.source = source
    }

    func run(on client: any RedisCommandRunning, keys: [String], arguments: [String]) async throws -> RESPValue {
        let rest = [String(keys.count)] + keys + arguments
        do {
            return try await client.command(["EVALSHA", try await loaded(on: client)] + rest)
        } catch let error as RedisError where error.code == "NOSCRIPT" {
            return try await client.command(["EVAL", source] + rest)
        }
    }

    private func loaded(on client: any RedisCommandRunning) async throws -> String {
        if let known = sha.withLock({ $0 }) { return known }
        guard let loaded = try await client.command(["SCRIPT", "LOAD", source]).string else {
            throw RedisError("SCRIPT LOAD returned no SHA1")
        }
        sha.withLock { $0 = loaded }
        return loaded
    }
}
