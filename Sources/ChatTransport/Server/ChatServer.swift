import ChatCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The chat server: the seed's HTTP API and WebSocket rooms on one port, over a ``ChatService``.
///
/// A `Service` for swift-service-lifecycle: `run()` serves until graceful shutdown, which
/// sends every WebSocket client a close frame (1001) and waits for the connections to end.
public final class ChatServer: Service {
    public let configuration: ChatServerConfiguration
    /// Connections closed for breaking limits, and deflate sessions.
    public let counters = TransportCounters()
    private let service: ChatService
    private let application: Application<RouterResponder<BasicRequestContext>>
    private let address = ListeningAddress()

    public init(
        service: ChatService,
        configuration: ChatServerConfiguration = .init(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "chatd")
    ) {
        self.configuration = configuration
        self.service = service
        let counters = counters
        let compressors = configuration.deflate.map(FrameCompressors.init(settings:))
        let hub = RoomHub(
            service: service,
            slowConsumers: configuration.slowConsumerPolicy,
            counters: counters,
            compressors: compressors,
            flushWindow: configuration.flushWindow,
            budget: OutboundBudget(limit: configuration.abuseLimits.outboundMemoryBudget, counters: counters),
            logger: logger
        )
        let router = Self.makeRouter(service: service, configuration: configuration, counters: counters, logger: logger)
        let address = address
        let limiter = ConnectionLimiter(limits: configuration.abuseLimits)
        self.application = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                ChatServerChannel(
                    responder: responder,
                    service: service,
                    hub: hub,
                    compressors: compressors,
                    counters: counters,
                    configuration: configuration,
                    limiter: limiter
                )
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
        service: ChatService, configuration: ChatServerConfiguration, counters: TransportCounters = .init(), logger: Logger
    ) -> Router<BasicRequestContext> {
        let router = Router()
        let routes = ChatAPI(service: service, maximumBodyBytes: configuration.maximumRequestBodyBytes).routes(for: BasicRequestContext.self)
        router.add(middleware: JSONErrorMiddleware(logger: logger, routes: routes.paths, counters: counters))
        routes.register(on: router)
        return router
    }

    /// The port the server listens on, once it does (useful with port 0).
    public func listeningPort() async -> Int {
        await address.port()
    }

    public func run() async throws {
        try await application.run()
        await service.leaveAll()
    }
}
