import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The one rule for request bodies: they are JSON. Every route that reads one decodes it here,
/// and so does the fuzzer (Sources/Fuzz/FuzzJSONBodies).
enum JSONBody {
    /// `body` as `Body`; malformed or mistyped JSON is a 400 whose message shows `example`.
    static func decode<Body: Decodable>(_ type: Body.Type, from body: ByteBuffer, example: String) throws(APIError) -> Body {
        do {
            return try JSONDecoder().decode(Body.self, from: Data(body.readableBytesView))
        } catch {
            throw APIError(.badRequest, "request body must be a JSON object like \(example)")
        }
    }

    /// Throws 415 unless the request says its body is `application/json` (parameters such
    /// as `charset` allowed). HTML forms cannot send that type cross-site without a CORS
    /// preflight, which this server never grants.
    static func requireJSONContentType(_ request: Request) throws {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw APIError(
                .unsupportedMediaType,
                "request body must be JSON: send Content-Type: application/json (got \(type.map { "'\($0)'" } ?? "none"))"
            )
        }
    }
}
