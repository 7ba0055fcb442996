import Foundation
import ChatCore

/// Every access decision of the transport, made the same way for the REST API and the
/// WebSocket join: who a request speaks for, whether it may use an admin route, and whether a
/// user may create another room. Failures are ``ChatError``s (401, 403, 429), counted.
final class AccessControl: Sendable {
    let settings: AccessSettings
    private let authenticator: (any Authenticator)?
    private let failures: AttemptLimiter?
    private let roomCreations: AttemptLimiter?
    private let counters: TransportCounters

    init(settings: AccessSettings, authenticator: (any Authenticator)?, counters: TransportCounters) {
        self.settings = settings
        self.authenticator = authenticator
        self.counters = counters
        failures = settings.maximumFailedAttemptsPerMinute.map { AttemptLimiter(perMinute: $0) }
        roomCreations = settings.maximumRoomsPerUserPerMinute.map { AttemptLimiter(perMinute: $0) }
    }

    /// `--auth none`: everyone may do everything, as in the seed.
    var isOpen: Bool { settings.mode == .open }

    /// The token of an `Authorization: Bearer …` header value.
    static func bearer(_ authorization: String?) -> String? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The identity presenting `credential`: 401 when it is missing or not valid, 429 when
    /// `client` failed too often. Only invalid credentials count as failures (a missing one
    /// guesses nothing).
    func authenticate(_ credential: String?, client: String) async throws(ChatError) -> Identity {
        try refuseIfLimited(client)
        guard let credential, !credential.isEmpty else {
            throw .unauthenticated("a token is required: send Authorization: Bearer TOKEN (a join may use ?access_token=TOKEN)")
        }
        guard let authenticator, let identity = try await authenticator.identify(credential) else {
            recordFailure(client)
            throw .unauthenticated("the token is not valid: unknown, revoked or expired")
        }
        return identity
    }

    /// The identity of a request that must carry one in this mode; nil in `--auth none`.
    func identityIfRequired(_ credential: String?, client: String) async throws(ChatError) -> Identity? {
        isOpen ? nil : try await authenticate(credential, client: client)
    }

    /// Listing rooms, a room's users and searching: open unless `privateRooms` is set.
    func authorizeReading(_ credential: String?, client: String) async throws(ChatError) {
        guard settings.privateRooms, !isOpen else { return }
        _ = try await authenticate(credential, client: client)
    }

    /// The check of every admin route: the bearer token must be the admin token (compared in
    /// constant time). 401 without a credential, 403 with another one; open in `--auth none`.
    func authorizeAdmin(_ credential: String?, client: String) throws(ChatError) {
        guard !isOpen else { return }
        try refuseIfLimited(client)
        guard let credential else {
            throw .unauthenticated("this is an admin route: send Authorization: Bearer ADMIN_TOKEN")
        }
        guard let admin = settings.adminToken, ConstantTime.equal(credential, admin) else {
            recordFailure(client)
            throw .forbidden("this is an admin route and the token given is not the admin token")
        }
    }

    /// The join's verdict: the user it speaks as and, outside `--auth none`, the identity
    /// (whose expiry closes the socket). The token comes from `?access_token=` or the header.
    func admitJoin(
        _ join: JoinRequest, authorization: String?, client: String, service: ChatService
    ) async throws(ChatError) -> (UserName, Identity?) {
        let room = try join.room()
        if isOpen { return (try await service.admit(user: join.user, to: room), nil) }
        let identity = try await authenticate(join.accessToken ?? Self.bearer(authorization), client: client)
        return (try await service.admit(identity, asking: join.user, to: room), identity)
    }

    /// Takes one room creation from `identity`'s quota; 429 when it is used up. No quota in
    /// `--auth none` (no one to count against).
    func chargeRoomCreation(_ identity: Identity?) throws(ChatError) {
        guard let identity, let roomCreations else { return }
        guard roomCreations.take(identity.user.rawValue) else {
            counters.countRoomQuotaRefusal()
            let limit = settings.maximumRoomsPerUserPerMinute ?? 0
            throw .rateLimited("room quota reached: a user may create \(limit) rooms a minute")
        }
    }

    /// A new token for `rawName` with `password`; 401 (a counted failure) when they do not match.
    func logIn(_ rawName: String, password: String, client: String, issuer: any Authenticator) async throws(ChatError) -> String {
        try refuseIfLimited(client)
        guard let name = UserName(rawValue: rawName), let token = try await issuer.logIn(name, password: password) else {
            recordFailure(client)
            throw .unauthenticated("wrong user name or password")
        }
        return token
    }

    /// Revokes the presented token: 401 without one or when it is not (or no longer) valid.
    func revoke(_ credential: String?, client: String) async throws(ChatError) {
        let identity = try await authenticate(credential, client: client)
        guard let credential, try await authenticator?.revoke(credential) == true else {
            throw .unauthenticated("the token of \(identity.user) cannot be revoked here")
        }
    }

    /// The authenticator, where the API issues and revokes tokens.
    var issuer: (any Authenticator)? { authenticator }

    private func refuseIfLimited(_ client: String) throws(ChatError) {
        guard let failures, failures.isExhausted(client) else { return }
        counters.countAuthenticationRateLimited()
        throw .rateLimited("too many failed authentication attempts from this address; try again in a minute")
    }

    private func recordFailure(_ client: String) {
        counters.countAuthenticationFailure()
        _ = failures?.take(client)
    }
}
