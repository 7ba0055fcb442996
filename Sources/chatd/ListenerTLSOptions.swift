import ArgumentParser
import ChatTransport
import Foundation

/// `--tls-cert FILE --tls-key FILE`: https and wss on the listener (both or neither).
struct ListenerTLSOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "PEM certificate chain (the server's first) to serve https and wss; needs --tls-key (env CHATD_TLS_CERT).",
        valueName: "file"
    ))
    var tlsCert: String?

    @Option(help: ArgumentHelp(
        "PEM private key of --tls-cert, unencrypted (env CHATD_TLS_KEY).",
        valueName: "file"
    ))
    var tlsKey: String?

    /// Reads and checks both files, so a bad certificate stops chatd before any backend is contacted.
    func apply(to configuration: inout ChatServerConfiguration, environment: [String: String]) throws {
        let certificate = tlsCert ?? environment["CHATD_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 }
        let key = tlsKey ?? environment["CHATD_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (certificate, key) {
        case (nil, nil):
            return
        case (let certificate?, let key?):
            do {
                configuration.tls = try ChatServerTLS(certificateFile: certificate, keyFile: key)
            } catch {
                throw ValidationError(error.description)
            }
        case (nil, _):
            throw ValidationError("--tls-key needs --tls-cert (the certificate it belongs to)")
        case (_, nil):
            throw ValidationError("--tls-cert needs --tls-key (the certificate's private key)")
        }
    }
}
