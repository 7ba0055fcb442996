// swift-tools-version:6.1
import PackageDescription

/// Every target of ours is built in Swift 6 language mode with explicit `any`.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-chat-server",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ChatCore", targets: ["ChatCore"]),
        .library(name: "ChatCoreTesting", targets: ["ChatCoreTesting"]),
        .library(name: "ChatStorage", targets: ["ChatStorage"]),
        .library(name: "ChatTransport", targets: ["ChatTransport"]),
        .library(name: "ChatAuth", targets: ["ChatAuth"]),
        .executable(name: "chatd", targets: ["chatd"]),
        .executable(name: "fanout-cost", targets: ["fanout-cost"]),
        .executable(name: "chat-bench", targets: ["chat-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // TLS on the listener (HummingbirdTLS) and to Redis (NIOSSL on the Redis connections).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // The Elasticsearch adapter's HTTP client; the tests also drive the server over loopback with it.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Test-only: an independent WebSocket client drives the server over loopback.
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        // chat-bench: latency percentiles.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // ChatAuth: token hashes and random tokens, bcrypt password hashes, JWT verification.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        // Metrics (docs/operations.md): the libraries record through swift-metrics only; chatd
        // bootstraps the Prometheus factory behind the admin listener's GET /metrics.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Domain, ports, use cases and in-memory adapters. No C libraries, no transport.
        .target(
            name: "ChatCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                // The API only (like swift-log): chatd_backend_errors_total is counted where every
                // backend failure is mapped (ChatError.fromBackend).
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Contract suites that every implementation of a ChatCore port runs.
        .target(
            name: "ChatCoreTesting",
            dependencies: ["ChatCore"],
            swiftSettings: strictSettings
        ),
        // hiredis from Debian's libhiredis-dev: the Redis reply reader and command formatter.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // The MariaDB Connector/C client library (Debian: libmariadb-dev); module map only.
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        // Real backends (Redis, MariaDB, Elasticsearch) and backend configuration.
        .target(
            name: "ChatStorage",
            dependencies: [
                "ChatCore",
                "CHiredis",
                "CMariaDB",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // `__builtin_prefetch` for the fan-out's member walk (LoopRoomHub), which Swift lacks.
        .target(name: "CChatPrefetch"),
        .target(
            name: "ChatTransport",
            dependencies: [
                "ChatCore",
                "CChatPrefetch",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            // The browser client (BrowserClient.swift) and the OpenAPI document served at
            // /openapi.json (docs/openapi.json links to it).
            resources: [.copy("Resources/client"), .copy("OpenAPI/openapi.json")],
            swiftSettings: strictSettings
        ),
        // Credentials: the crypto behind ChatCore's authentication ports (tokens, passwords, JWT).
        .target(
            name: "ChatAuth",
            dependencies: [
                "ChatCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "chatd",
            dependencies: [
                "ChatAuth",
                "ChatCore",
                "ChatStorage",
                "ChatTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // In-process benchmark of the fan-out's CPU cost per compression mode (docs/performance.md):
        // the library's fan-out (`package` API) writing into NIOEmbedded channels, so the
        // benchmark and NIOEmbedded stay out of the ChatTransport library.
        .executableTarget(
            name: "fanout-cost",
            dependencies: [
                "ChatCore",
                "ChatTransport",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Load generator that speaks only the seed API, so it can measure any server (docs/performance.md).
        .executableTarget(
            name: "chat-bench",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Test-only: starts Redis and MariaDB servers of a test's own (scripts/services/*.sh).
        .target(
            name: "ChatTestServices",
            dependencies: [
                // Reading the transport's and the chat log's metrics (TransportMetricsReading.swift).
                "ChatStorage",
                "ChatTransport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/ChatTestServices",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ChatCoreTests",
            dependencies: [
                "ChatCore",
                "ChatCoreTesting",
                // Reading ChatCore's metrics (chatd_room_cache_failures_total) without a Prometheus registry.
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ChatAuthTests",
            dependencies: [
                "ChatAuth",
                "ChatCore",
                // RS256 keys made in the test.
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ChatStorageTests",
            dependencies: [
                "ChatCore",
                "ChatCoreTesting",
                "ChatStorage",
                "ChatTestServices",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ChatTransportTests",
            dependencies: [
                "ChatCore",
                "ChatTransport",
                "ChatTestServices",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // chat-bench's report arithmetic and parsers, without sockets.
        .testTarget(
            name: "ChatBenchUnitTests",
            dependencies: [
                "chat-bench",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "chatd",  // built for the process tests, which run the binary
                "chat-bench",  // run by ChatBenchTests against a spawned chatd
                "ChatAuth",
                "ChatCore",
                "ChatStorage",
                "ChatTestServices",
                "ChatTransport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "WSClient", package: "swift-websocket"),
                // JWT tests sign their own tokens with keys made in the test.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                // The Elasticsearch stand-in (Support/FakeElasticsearch.swift, shared with ChatStorageTests).
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "WSCompression", package: "swift-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)

// MARK: - Fuzzing (docs/security.md, "Fuzzing"; scripts/fuzz.sh)
//
// libFuzzer targets for the parsers that read what clients send. They exist only when the
// manifest is evaluated with CHATD_FUZZ=1, which scripts/fuzz.sh sets while building them in a
// scratch path of their own (.build-fuzz): the ordinary build and CI's test build never see them.
//
// Only our own modules are compiled with -sanitize=fuzzer,address (coverage for libFuzzer plus
// AddressSanitizer); the dependencies (NIO, Hummingbird, compress-nio, ...) are built as usual.
// Sanitizing the whole graph (`swift build --sanitize=fuzzer --sanitize=address`) instruments
// ~640 dependency files too: twice the build's CPU time, and 2.6 times fewer inputs per second
// through the frame target (docs/security.md, "Fuzzing", has the measurements). The harnesses
// reach the internal parsers with `@testable import` (a debug build compiles with
// -enable-testing), so no product type widens its access for them.
//
// Each harness defines `LLVMFuzzerTestOneInput` and hands its command line to libFuzzer through
// `LLVMFuzzerRunDriver` (CFuzzerDriver): SwiftPM links every Swift executable with an entry
// point of its own, which shadows libFuzzer's `main`.
if Context.environment["CHATD_FUZZ"] == "1" {
    let sanitized: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]
    for target in package.targets where ["ChatCore", "ChatTransport"].contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + sanitized
    }
    package.targets.append(.target(name: "CFuzzerDriver", path: "Sources/Fuzz/CFuzzerDriver"))
    for name in ["FuzzInboundFrames", "FuzzDeflateOffer", "FuzzJoinRequest", "FuzzJSONBodies", "FuzzRedisPayload"] {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: [
                    "CFuzzerDriver",
                    "ChatCore",
                    "ChatTransport",
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOEmbedded", package: "swift-nio"),
                    .product(name: "NIOWebSocket", package: "swift-nio"),
                ],
                path: "Sources/Fuzz/\(name)",
                swiftSettings: strictSettings + sanitized,
                linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address"])]
            )
        )
    }
}
