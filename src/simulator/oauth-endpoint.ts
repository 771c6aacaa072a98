/**
 * The HTTP side of `POST /api/oauth/token` and `POST /api/oauth/revoke`: Basic client
 * authentication, the form body, and RFC 6749 / RFC 7009 answers.
 */
import { apiErrorReply } from "./api-error.js";
import { jsonReply, type Reply } from "./reply.js";
import type { TokenAuthority } from "./token-authority.js";

/** The parts of a request the endpoints look at. */
export interface OAuthRequest {
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** An answer, and the token it issued or revoked (for the stats). */
export interface OAuthOutcome {
  readonly reply: Reply;
  readonly issued?: string;
  readonly revoked?: string;
}

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };
const JSON_UTF8 = "application/json;charset=UTF-8";

/** An RFC 6749 section 5.2 error; Atlas's exact bodies are unconfirmed. */
export function oauthErrorReply(status: number, error: string, description: string): Reply {
  const headers: Record<string, string> = { ...NO_STORE };
  if (status === 401) headers["www-authenticate"] = 'Basic realm="MongoDB Atlas"';
  return jsonReply(status, { error, error_description: description }, JSON_UTF8, headers);
}

/** Reads the client id and secret of `Authorization: Basic base64(id:secret)`. */
export function parseBasicCredentials(
  header: string | undefined,
): { clientId: string; clientSecret: string } | undefined {
  const match = /^\s*Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
}

/** Authenticates the client: as sent (Atlas), or form-decoded first (RFC 6749 2.3.1). */
function authenticate(req: OAuthRequest, authority: TokenAuthority): string | undefined {
  const creds = parseBasicCredentials(req.authorization);
  if (!creds) return undefined;
  if (authority.authenticateClient(creds.clientId, creds.clientSecret)) return creds.clientId;
  try {
    const id = decodeURIComponent(creds.clientId.replace(/\+/g, " "));
    const secret = decodeURIComponent(creds.clientSecret.replace(/\+/g, " "));
    return authority.authenticateClient(id, secret) ? id : undefined;
  } catch {
    return undefined;
  }
}

function parseForm(req: OAuthRequest): URLSearchParams | undefined {
  const type = (req.contentType ?? "").split(";")[0]?.trim().toLowerCase();
  return type === "application/x-www-form-urlencoded" ? new URLSearchParams(req.body) : undefined;
}

const INVALID_CLIENT = (): Reply =>
  oauthErrorReply(401, "invalid_client", "Client authentication failed.");

/** Answers a token request (client credentials grant). */
export function handleTokenRequest(req: OAuthRequest, authority: TokenAuthority): OAuthOutcome {
  const clientId = authenticate(req, authority);
  if (clientId === undefined) return { reply: INVALID_CLIENT() };
  const form = parseForm(req);
  if (!form) {
    return {
      reply: oauthErrorReply(
        400,
        "invalid_request",
        "Content-Type must be application/x-www-form-urlencoded.",
      ),
    };
  }
  const grant = form.get("grant_type");
  if (grant === null || grant === "") {
    return { reply: oauthErrorReply(400, "invalid_request", "grant_type is required.") };
  }
  if (grant !== "client_credentials") {
    return {
      reply: oauthErrorReply(
        400,
        "unsupported_grant_type",
        "Only client_credentials is supported.",
      ),
    };
  }
  const result = authority.issue(clientId);
  switch (result.kind) {
    case "rate_limited":
      // Atlas's body for a throttled token request is unconfirmed; an ApiError is plausible.
      return {
        reply: apiErrorReply(429, "RATE_LIMITED", "Too many token requests for this client.", {
          "retry-after": String(result.retryAfterSeconds),
        }),
      };
    case "too_many_tokens":
      return {
        reply: oauthErrorReply(
          403,
          "access_denied",
          "This service account holds too many live tokens.",
        ),
      };
    case "issued":
      return {
        reply: jsonReply(
          200,
          { access_token: result.token, expires_in: result.expiresIn, token_type: "Bearer" },
          JSON_UTF8,
          NO_STORE,
        ),
        issued: result.token,
      };
  }
}

/** Answers a revocation request (RFC 7009: 200 even for an unknown token). */
export function handleRevokeRequest(req: OAuthRequest, authority: TokenAuthority): OAuthOutcome {
  const clientId = authenticate(req, authority);
  if (clientId === undefined) return { reply: INVALID_CLIENT() };
  const form = parseForm(req);
  const token = form?.get("token");
  if (!form || token === null || token === undefined || token === "") {
    return { reply: oauthErrorReply(400, "invalid_request", "token is required.") };
  }
  const revoked = authority.revoke(clientId, token);
  const reply: Reply = { status: 200, headers: { ...NO_STORE }, body: "" };
  return revoked ? { reply, revoked: token } : { reply };
}
