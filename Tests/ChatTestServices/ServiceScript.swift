import Foundation

/// Runs the package's service scripts (`scripts/services/*.sh`) for tests that need a Redis or
/// MariaDB server of their own, to stop and restart it without disturbing the shared ones.
///
/// Spawned with posix_spawn, an empty signal mask and default signal handlers: the test process
/// blocks signals such as SIGTERM on its threads, and a server that inherited that mask could
/// not be stopped by its pid. Foundation's `Process` also failed to report the exit of a script
/// whose daemon kept running. The wait runs on a thread of its own, off the cooperative pool.
public enum ServiceScript {
    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The package's root, found from this file so tests work from any working directory.
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `scripts/services/NAME arguments…` with `environment` added, and waits for it.
    public static func run(_ name: String, _ arguments: [String], environment extra: [String: String] = [:], log: URL) async throws {
        let script = packageRoot.appendingPathComponent("scripts/services/\(name)").path
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { $1 }
        func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let command = "exec /bin/bash " + ([script] + arguments).map(quoted).joined(separator: " ") + " >\(quoted(log.path)) 2>&1"
        let arguments: [String] = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { (text: String) in strdup(text) } + [nil]
        let variables: [String] = environment.map { "\($0.key)=\($0.value)" }
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { (text: String) in strdup(text) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", nil, &attributes, argv, envp)
        guard spawned == 0 else { throw Failed(description: "cannot run \(script): error \(spawned)") }
        let child = pid
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(child, &status, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: status)
            }
        }
        guard status == 0 else {
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw Failed(description: "\(name) \(arguments.joined(separator: " ")) failed (wait status \(status)): \(output)")
        }
    }
}

/// A Redis or MariaDB server of one test's own on a random port, in a throwaway directory, for
/// tests that stop and restart it. MariaDB comes with the test user `chat`/`chat` and database
/// `chat_test` that scripts/services/mariadb.sh creates.
public struct OwnServer: Sendable {
    public enum Kind: Sendable {
        case redis
        case mariadb
    }

    public let kind: Kind
    public let port: Int
    public let directory: URL
    /// TLS mode (scripts/services/*.sh with REDIS_TLS_DIR / MARIADB_TLS_DIR): the server speaks
    /// TLS with these certificates, and ``url`` asks for it, trusting their CA.
    public let certificates: TestCertificates?
    /// Redis only: `requirepass`, and the password in ``url``.
    public let password: String?
    /// Redis only: an append-only file written before every reply (REDIS_APPENDONLY=yes), so
    /// ``stop()`` and ``start()`` are a restart that keeps every write.
    public let appendOnly: Bool

    public init(_ kind: Kind, certificates: TestCertificates? = nil, password: String? = nil, appendOnly: Bool = false) {
        self.kind = kind
        self.certificates = certificates
        self.password = password
        self.appendOnly = appendOnly
        // Below Linux's ephemeral range (32768 and up): a port from there can already be the
        // local end of some test's client socket, and the server then fails to bind.
        switch kind {
        case .redis: port = Int.random(in: 20_000..<26_000)
        case .mariadb: port = Int.random(in: 26_000..<32_000)
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-\(kind)-\(UInt32.random(in: 0...UInt32.max))")
    }

    public var url: String {
        let credentials = password.map { ":\($0)@" } ?? ""
        switch (kind, certificates) {
        case (.redis, nil): return "redis://\(credentials)127.0.0.1:\(port)"
        case (.redis, let certificates?): return "rediss://\(credentials)localhost:\(port)?ca=\(certificates.authorityFile)"
        case (.mariadb, nil): return "mariadb://chat:chat@127.0.0.1:\(port)/chat_test"
        case (.mariadb, let certificates?): return "mariadb://chat:chat@127.0.0.1:\(port)/chat_test?ssl=true&ca=\(certificates.authorityFile)"
        }
    }

    public func start() async throws { try await script("start") }
    public func stop() async throws { try await script("stop") }

    /// Stops the server (if running) and removes its directory.
    public func remove() async {
        try? await stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private func script(_ command: String) async throws {
        let (name, portVariable, tlsVariable) =
            kind == .redis ? ("redis.sh", "REDIS_PORT", "REDIS_TLS_DIR") : ("mariadb.sh", "MARIADB_PORT", "MARIADB_TLS_DIR")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("server"), withIntermediateDirectories: true)
        var environment = [portVariable: String(port)]
        if let certificates { environment[tlsVariable] = certificates.directory.path }
        if let password { environment["REDIS_PASSWORD"] = password }
        if appendOnly { environment["REDIS_APPENDONLY"] = "yes" }
        try await ServiceScript.run(
            name, [command, directory.appendingPathComponent("server").path],
            environment: environment, log: directory.appendingPathComponent("\(command).log")
        )
    }
}
