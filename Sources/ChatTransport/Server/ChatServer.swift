import ChatCore
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The chat server: the seed's HTTP API and WebSocket rooms on one port, over a ``ChatService``.
///
/// A `Service` for swift-service-lifecycle: `run()` serves until graceful shutdown, which
/// sends every WebSocket client a close frame (1001) and waits for the connections to end.
public final class ChatServer: Service {
    public let configuration: ChatServerConfiguration
    /// The transport's metrics (docs/operations.md, "Metrics").
    public let counters: TransportCounters
    /// `/readyz`'s verdict: the backends' probes and whether the server drains.
    public let readiness: Readiness
    /// The joined WebSockets, for the admin API.
    let connections: LocalConnections
    private let service: ChatService
    private let application: Application<RouterResponder<ChatRequestContext>>
    private let address = ListeningAddress()

    /// `authenticator` checks credentials for `configuration.access.mode` `.token` and `.jwt`
    /// (the ChatAuth target has both). Without one in those modes every credential is refused:
    /// the server fails closed, never open.
    public init(
        service: ChatService,
        authenticator: (any Authenticator)? = nil,
        configuration: ChatServerConfiguration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "chatd"),
        metrics: (any MetricsFactory)? = nil,
        readiness: Readiness = Readiness()
    ) {
        self.configuration = configuration
        self.service = service
        let counters = TransportCounters(factory: metrics ?? MetricsSystem.factory, auth: configuration.access.mode.rawValue, logger: logger)
        self.counters = counters
        self.readiness = readiness
        let connections = LocalConnections(counters: counters)
        self.connections = connections
        let compressors = configuration.deflate.map { FrameCompressors(settings: $0, metrics: counters.factory) }
        let hub = RoomHub(
            service: service,
            slowConsumers: configuration.slowConsumerPolicy,
            counters: counters,
            compressors: compressors,
            flushWindow: configuration.flushWindow,
            budget: OutboundBudget(limit: configuration.abuseLimits.outboundMemoryBudget, counters: counters),
            logger: logger
        )
        if configuration.access.mode != .open, authenticator == nil {
            logger.error("no authenticator for --auth \(configuration.access.mode.rawValue): every credential will be refused")
        }
        let access = AccessControl(settings: configuration.access, authenticator: authenticator, counters: counters)
        let router = Self.makeRouter(
            service: service, configuration: configuration, access: access, counters: counters, readiness: readiness, logger: logger
        )
        let address = address
        let limiter = ConnectionLimiter(limits: configuration.abuseLimits)
        self.application = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                var channel = ChatServerChannel(
                    responder: responder,
                    service: service,
                    hub: hub,
                    compressors: compressors,
                    counters: counters,
                    configuration: configuration,
                    access: access,
                    limiter: limiter,
                    logger: logger
                )
                channel.connections = connections
                guard let tls = configuration.tls else { return channel }
                // Cannot fail here: ChatServerTLS built a context from the same configuration.
                return try TLSChannel(channel, tlsConfiguration: tls.configuration)
            },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "chatd", backlog: configuration.listenBacklog),
            onServerRunning: { channel in address.bound(port: channel.localAddress?.port ?? configuration.port) },
            eventLoopGroupProvider: .shared(eventLoopGroup),
            logger: logger
        )
    }

    /// The HTTP API's router, with its JSON errors: also what in-process tests drive.
    static func makeRouter(
        service: ChatService, configuration: ChatServerConfiguration, access: AccessControl, counters: TransportCounters = .init(),
        readiness: Readiness = Readiness(), logger: Logger
    ) -> Router<ChatRequestContext> {
        let router = Router(context: ChatRequestContext.self)
        let api = ChatAPI(
            service: service, maximumBodyBytes: configuration.maximumRequestBodyBytes, access: access,
            trustedProxies: configuration.abuseLimits.trustedProxies
        )
        let routes = publicRoutes(api: api, readiness: readiness)
        router.add(middleware: HTTPMetricsMiddleware(counters: counters))
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: JSONErrorMiddleware(logger: logger, routes: routes.paths, counters: counters))
        routes.register(on: router)
        return router
    }

    /// Every route of the public listener: the API's and the health routes.
    static func publicRoutes(api: ChatAPI, readiness: Readiness) -> RouteTable<ChatRequestContext> {
        var routes = api.routes()
        HealthRoutes.add(to: &routes, readiness: readiness)
        return routes
    }

    /// The port the server listens on, once it does (useful with port 0); 0 if the calling task
    /// is cancelled before.
    public func listeningPort() async -> Int {
        await address.port()
    }

    public func run() async throws {
        try await ListenerUnavailable.naming("the API listener", host: configuration.host, port: configuration.port, flag: "--port") {
            try await application.run()
        }
        await service.leaveAll()
    }
}
