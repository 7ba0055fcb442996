import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`.
///
/// The one copy is `openapi.json` beside this file (docs/openapi.json links to it), shipped as
/// ChatTransport's resource: the server serves the bytes that are committed, and the tests and
/// scripts/openapi/check.sh hold the routes and their answers to it (docs/operations.md,
/// "The API document").
enum APIDocument {
    /// The document's bytes, read once from the resource bundle. A binary copied without its
    /// `chatd_ChatTransport.resources` folder stops here, at start, rather than at a request.
    static let json: ByteBuffer = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            fatalError("openapi.json is missing from ChatTransport's resource bundle")
        }
        return ByteBuffer(bytes: data)
    }()

    /// The answer of `GET /openapi.json`.
    static func response(_ json: ByteBuffer) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-cache"],
            body: .init(byteBuffer: json)
        )
    }
}
