import ChatCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The admin listener (`--admin-host`:`--admin-port`): a second Hummingbird server in chatd's
/// process, a `Service` in its ServiceGroup. It serves `GET /metrics`, the health routes and
/// the admin API (``AdminAPI``), writes this node's heartbeat and carries out the admin commands
/// other servers broadcast, from `run()` until graceful shutdown.
public final class AdminServer: Service {
    private let application: Application<RouterResponder<ChatRequestContext>>
    /// The listener's routes (what the OpenAPI document's admin part is checked against).
    let routes: RouteTable<ChatRequestContext>
    private let heartbeat: NodeHeartbeat
    private let cluster: any ClusterControl
    private let settings: AdminSettings
    private let address = ListeningAddress()
    private let logger: Logger

    /// `cluster` is the backends' (``ChatBackends/cluster``); `exposition` renders the metrics
    /// in Prometheus's text format (chatd: its Prometheus registry).
    public init(
        settings: AdminSettings,
        server: ChatServer,
        service: ChatService,
        cluster: any ClusterControl,
        exposition: @escaping @Sendable () async -> String,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "chatd.admin")
    ) {
        self.settings = settings
        self.cluster = cluster
        self.logger = logger
        // A wildcard address says nothing to an operator: the node list shows the host's name.
        let configured = server.configuration.host
        let host = ["0.0.0.0", "::", ""].contains(configured) ? ProcessInfo.processInfo.hostName : configured
        let heartbeat = NodeHeartbeat(
            server: service.server, address: { "\(host):\(await server.listeningPort())" }, connections: server.connections,
            version: settings.version
        )
        self.heartbeat = heartbeat
        let api = AdminAPI(
            settings: settings, service: service, cluster: cluster, heartbeat: heartbeat, connections: server.connections,
            counters: server.counters, readiness: server.readiness, maximumBodyBytes: server.configuration.maximumRequestBodyBytes,
            exposition: exposition
        )
        let routes = api.routes()
        self.routes = routes
        let router = Router(context: ChatRequestContext.self)
        router.add(middleware: HTTPMetricsMiddleware(counters: server.counters))
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: JSONErrorMiddleware(logger: logger, routes: routes.paths, counters: server.counters))
        routes.register(on: router)
        let address = address
        let port = settings.port
        self.application = Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "chatd-admin"),
            onServerRunning: { channel in address.bound(port: channel.localAddress?.port ?? port) },
            eventLoopGroupProvider: .shared(eventLoopGroup),
            logger: logger
        )
    }

    /// The port the admin listener listens on, once it does (useful with port 0); 0 if the
    /// calling task is cancelled before.
    public func listeningPort() async -> Int {
        await address.port()
    }

    public func run() async throws {
        let listener: (any BrokerSubscription)?
        do {
            listener = try await heartbeat.listen(on: cluster, logger: logger)
        } catch {
            // Without it this server misses other servers' disconnects; its own still work.
            logger.error("cannot listen for admin commands of other servers", metadata: ["error": "\(error)"])
            listener = nil
        }
        let heartbeat = heartbeat
        let cluster = cluster
        let interval = settings.heartbeatInterval
        let logger = logger
        let beating = Task { await heartbeat.run(on: cluster, every: interval, logger: logger) }
        do {
            try await ListenerUnavailable.naming("the admin listener", host: settings.host, port: settings.port, flag: "--admin-port") {
                try await application.run()
            }
        } catch {
            beating.cancel()
            await listener?.cancel()
            throw error
        }
        beating.cancel()
        await beating.value
        await listener?.cancel()
    }
}
