import ChatCore

/// How the Redis stores report a Redis that cannot serve them: as the MariaDB stores report a
/// MariaDB that is down (``ChatError/backendUnavailable(_:)``, HTTP 503 with a JSON message),
/// so the API answers one way whichever backend keeps users and rooms.
///
/// Only an error reply that a retry cannot fix (`WRONGTYPE`, a script error: a bug or a key
/// written by something else) is passed on as the ``RedisError`` it is, for the service to log
/// and count.
enum RedisStoreFailure {
    static let unavailable = ChatError.backendUnavailable("the user and room store (Redis) is unreachable")

    /// Error replies of a Redis that is up but cannot serve right now: loading its data set
    /// after a restart, busy with a script, a replica or a cluster without a writable master.
    private static let transientCodes: Set<Substring> = ["LOADING", "BUSY", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS"]

    /// Runs one store operation against Redis, mapping its failure.
    @discardableResult
    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ChatError {
            throw error
        } catch let error as RedisError where isPermanent(error) {
            throw error
        } catch {
            throw unavailable
        }
    }

    /// Whether Redis itself answered with an error that a retry will not fix. Redis starts
    /// every error reply with an upper-case code (`ERR`, `WRONGTYPE`); what the client reports
    /// about the connection (unreachable, timed out, closed) starts with a plain word.
    static func isPermanent(_ error: RedisError) -> Bool {
        let code = error.code
        let isReply = code.count >= 2 && code.allSatisfy { $0.isASCII && $0.isUppercase }
        return isReply && !transientCodes.contains(code)
    }
}
