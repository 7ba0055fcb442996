import ArgumentParser
import ChatCore
import ChatStorage
import ChatTransport
import NIOCore

/// Cross-site and abuse-limit settings of `chatd serve` (docs/security.md); every default is
/// ``AbuseLimits``', ``OriginPolicy/sameOrigin`` or ``InMemoryCapacity``'s.
struct LimitOptions: ParsableArguments {
    @Option(help: "A web origin (scheme://host[:port]) whose pages may join, besides the server's own; repeatable; '*': any (default: only the server's own).")
    var allowedOrigin: [String] = []

    @Option(help: "Open connections one client address may hold; beyond it 429 (default 256).")
    var maxConnectionsPerAddress: Int?

    @Option(help: "Open connections in total; beyond it 503 (default 50000).")
    var maxConnections: Int?

    @Option(help: "New connections one client address may open per second; beyond it 429 (default 50).")
    var connectionRate: Int?

    @Option(help: "Seconds from accept (or a request's head) to the 101 or the end of the request body; slower connections are closed (default 10).")
    var requestTimeout: Double?

    @Option(help: "MiB all outbound queues together may hold; beyond it the connections holding the most are closed with 1008 (default 512).")
    var outboundBudgetMib: Int?

    @Option(help: "IP address of a reverse proxy of yours whose X-Forwarded-For / X-Real-IP name the client for the per-address limits; repeatable (default: none, the TCP peer is the client).")
    var trustedProxy: [String] = []

    @Option(help: "Users the in-memory user store holds at most (without --redis or --mariadb); beyond it 507 (default 1000000).")
    var maxUsers: Int?

    @Option(help: "Chat rooms the in-memory room store holds at most (without --redis or --mariadb); beyond it 507 (default 100000).")
    var maxRooms: Int?

    func apply(to configuration: inout ChatServerConfiguration, backends selection: inout BackendSelection) throws {
        if !allowedOrigin.isEmpty {
            do {
                configuration.originPolicy = try OriginPolicy(allowing: allowedOrigin)
            } catch {
                throw ValidationError("--allowed-origin: \(error.description)")
            }
        }
        var limits = configuration.abuseLimits
        if let maxConnectionsPerAddress {
            guard maxConnectionsPerAddress >= 1 else { throw ValidationError("--max-connections-per-address must be positive") }
            limits.maximumConnectionsPerAddress = maxConnectionsPerAddress
        }
        if let maxConnections {
            guard maxConnections >= 1 else { throw ValidationError("--max-connections must be positive") }
            limits.maximumConnections = maxConnections
        }
        if let connectionRate {
            guard connectionRate >= 1 else { throw ValidationError("--connection-rate must be positive") }
            limits.newConnectionsPerSecondPerAddress = connectionRate
        }
        if let requestTimeout {
            guard requestTimeout > 0, requestTimeout <= 3_600 else { throw ValidationError("--request-timeout must be between 0 and 3600 seconds") }
            limits.requestDeadline = .nanoseconds(Int64(requestTimeout * 1e9))
        }
        if let outboundBudgetMib {
            guard outboundBudgetMib >= 1 else { throw ValidationError("--outbound-budget-mib must be positive") }
            limits.outboundMemoryBudget = outboundBudgetMib * 1024 * 1024
        }
        for proxy in trustedProxy {
            guard (try? SocketAddress(ipAddress: proxy, port: 0)) != nil else {
                throw ValidationError("--trusted-proxy must be an IP address, got '\(proxy)'")
            }
            limits.trustedProxies.insert(proxy)
        }
        configuration.abuseLimits = limits
        if let maxUsers {
            guard maxUsers >= 1 else { throw ValidationError("--max-users must be positive") }
            selection.memoryCapacity.users = maxUsers
        }
        if let maxRooms {
            guard maxRooms >= 1 else { throw ValidationError("--max-rooms must be positive") }
            selection.memoryCapacity.rooms = maxRooms
        }
    }
}
