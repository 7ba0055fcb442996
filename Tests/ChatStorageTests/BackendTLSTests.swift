import ChatStorage
import Foundation
import Testing

/// TLS settings in backend URLs, and that no password ever leaves a URL in text.
@Suite struct BackendTLSTests {
    @Test func tlsComesFromTheSchemeOrMariaDBsSSLParameter() throws {
        #expect(try BackendEndpoint(kind: .redis, url: "redis://127.0.0.1").tls == nil)
        let redis = try BackendEndpoint(kind: .redis, url: "rediss://cache.local:6380/2")
        #expect(redis.tls == BackendTLS() && redis.port == 6380 && redis.database == "2")
        #expect(redis.description == "rediss://cache.local:6380/2")
        let search = try BackendEndpoint(kind: .elasticsearch, url: "https://es.local?ca=/etc/es-ca.pem")
        #expect(search.tls == BackendTLS(certificateAuthorityFile: "/etc/es-ca.pem") && search.database == nil)
        #expect(try BackendEndpoint(kind: .mariadb, url: "mariadb://chat:pw@db/chat").tls == nil)
        let maria = try BackendEndpoint(kind: .mariadb, url: "mariadb://chat:pw@db/chat?ssl=true&ca=%2Fetc%2Fdb%20ca.pem&verify_hostname=false")
        #expect(maria.database == "chat")
        #expect(maria.tls == BackendTLS(certificateAuthorityFile: "/etc/db ca.pem", verifiesHostname: false))
        #expect(maria.description == "mariadb://chat:***@db:3306/chat?ssl=true&ca=/etc/db ca.pem&verify_hostname=false")
        let configuration = try MariaDBConfiguration(endpoint: maria)
        #expect(configuration.tls == maria.tls && !configuration.description.contains("pw"))
        #expect(try RedisConfiguration(endpoint: redis).tls == BackendTLS())
    }

    @Test(arguments: [
        (BackendEndpoint.Kind.mariadb, "mariadb://db/chat?ssl=maybe", "'ssl' must be true or false"),
        (.mariadb, "mariadb://db/chat?ca=/ca.pem", "need ssl=true"),
        (.redis, "redis://cache?ca=/ca.pem", "need rediss://"),
        (.elasticsearch, "http://es?verify_hostname=false", "need https://"),
        (.redis, "rediss://cache?ssl=true", "unknown parameter 'ssl'"),
        (.mariadb, "mariadb://db/chat?ssl=true&sslmode=require", "unknown parameter 'sslmode'"),
    ])
    func badTLSParametersAreRefusedWithAReason(_ kind: BackendEndpoint.Kind, _ url: String, _ reason: String) {
        #expect {
            try BackendEndpoint(kind: kind, url: url)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    /// Every URL kind, malformed after its password: the error echoes the URL, masked.
    @Test(arguments: [
        (BackendEndpoint.Kind.redis, "rediss://:hunter2-redis@cache:notaport"),
        (.redis, "redis://default:hunter2-redis@cache:6379?ca=/x"),
        (.mariadb, "mariadb://chat:hunter2-maria@:3306/chat"),
        (.mariadb, "mysql://chat:hunter2-maria@db:3306/chat?ssl=perhaps"),
        (.elasticsearch, "https://elastic:hunter2-es@es:badport"),
        (.elasticsearch, "ftp://elastic:hunter2-es@es:9200"),
        (.redis, "chat:hunter2-noscheme@cache:6379"),
        (.redis, "rediss://:hunter2/with?odd#chars@cache:notaport"),
        (.mariadb, "mariadb://chat:hunter2/x@db:port/chat"),
    ])
    func aMalformedURLIsEchoedWithThePasswordMasked(_ kind: BackendEndpoint.Kind, _ url: String) {
        #expect {
            try BackendEndpoint(kind: kind, url: url)
        } throws: { error in
            let text = "\(error)"
            return !text.contains("hunter2") && text.contains(":***@") && text.contains("--\(kind.rawValue)")
        }
    }

    @Test func theStartupSummaryNamesEveryBackendWithoutItsPassword() throws {
        let selection = try BackendSelection(
            redis: "rediss://:hunter2-redis@cache:6380",
            mariadb: "mariadb://chat:hunter2-maria@db/chat?ssl=true",
            elasticsearch: "https://elastic:hunter2-es@es:9200"
        )
        let summary = selection.summary
        #expect(!summary.contains("hunter2"))
        #expect(summary.contains("rediss://:***@cache:6380"))
        #expect(summary.contains("mariadb://chat:***@db:3306/chat?ssl=true"))
        #expect(summary.contains("https://elastic:***@es:9200"))
    }

    @Test func noConfigurationValuePrintsItsPassword() throws {
        let redis = try BackendEndpoint(kind: .redis, url: "rediss://app:hunter2-redis@cache:6380/1")
        let maria = try BackendEndpoint(kind: .mariadb, url: "mariadb://chat:hunter2-maria@db/chat")
        let printed: [String] = [
            "\(redis)", String(reflecting: redis), "\(try RedisConfiguration(endpoint: redis))",
            String(reflecting: try RedisConfiguration(endpoint: redis)),
            "\(maria)", String(reflecting: maria), "\(try MariaDBConfiguration(endpoint: maria))",
            String(reflecting: try MariaDBConfiguration(endpoint: maria)),
        ]
        for text in printed { #expect(!text.contains("hunter2"), "\(text)") }
        #expect("\(try RedisConfiguration(endpoint: redis))" == "rediss://app:***@cache:6380/1")
    }

    @Test func redactingLeavesURLsWithoutAPasswordAlone() {
        #expect(BackendEndpoint.redacting("redis://cache:6379/0") == "redis://cache:6379/0")
        #expect(BackendEndpoint.redacting("mariadb://chat@db/chat") == "mariadb://chat@db/chat")
        #expect(BackendEndpoint.redacting("mariadb://chat:p@ss:word@db/chat") == "mariadb://chat:***@db/chat")
    }

    @Test func aPasswordWithSlashesOrQuestionMarksIsReadAsAPassword() throws {
        let endpoint = try BackendEndpoint(kind: .mariadb, url: "mariadb://chat:a/b?c#d@db:3307/chat?ssl=true")
        #expect(endpoint.password == "a/b?c#d" && endpoint.host == "db" && endpoint.port == 3307 && endpoint.database == "chat")
        #expect(endpoint.tls != nil && !endpoint.description.contains("a/b"))
    }

    @Test func anUnreadableOrEmptyCAFileIsAnErrorThatNamesIt() throws {
        let missing = BackendTLS(certificateAuthorityFile: "/nonexistent/ca.pem")
        #expect { try missing.clientConfiguration() } throws: { "\($0)".contains("/nonexistent/ca.pem") }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-ca-\(UUID().uuidString).pem")
        try Data("not a certificate\n".utf8).write(to: empty)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect { try BackendTLS(certificateAuthorityFile: empty.path).clientConfiguration() } throws: { "\($0)".contains(empty.path) }
        _ = try BackendTLS().clientConfiguration()  // the system's trust store
    }
}
