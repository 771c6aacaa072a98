/**
 * HTTP Digest access authentication (RFC 7616), the pure part: parsing challenges and
 * credentials, and computing responses. Shared by the client's interceptor and the simulator,
 * which verifies what `curl --digest` and our client send.
 */
import { createHash } from "node:crypto";

/** Algorithms this implementation speaks; `-sess` variants hash the nonces into HA1. */
export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess";

const ALGORITHMS: readonly DigestAlgorithm[] = ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"];

/** A parsed `WWW-Authenticate: Digest …` challenge. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly algorithm: DigestAlgorithm;
  /** Offered qop values, lower-cased; this implementation needs "auth". */
  readonly qop: readonly string[];
  /** The server says the nonce expired but the credentials were right: retry with the new one. */
  readonly stale: boolean;
}

/** Everything that goes into one digest response. */
export interface DigestInput {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly password: string;
  readonly realm: string;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  /** Nonce count, 8 hex digits, e.g. "00000001". */
  readonly nc: string;
  readonly cnonce: string;
  readonly qop: "auth";
}

/**
 * Splits an auth-param list (`a=b, c="d, e"`) into lower-cased names and unquoted values.
 * Returns undefined when the list is malformed.
 */
export function parseAuthParams(input: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  const re = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  let index = 0;
  const text = input.trim();
  while (index < text.length) {
    re.lastIndex = index;
    const match = re.exec(text);
    if (!match || match[0].length === 0) return undefined;
    const name = (match[1] ?? "").toLowerCase();
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, "$1") : (match[3] ?? "");
    params.set(name, value);
    index = re.lastIndex;
  }
  return params;
}

function parseAlgorithm(value: string | undefined): DigestAlgorithm | undefined {
  if (value === undefined) return "MD5";
  return ALGORITHMS.find((a) => a.toLowerCase() === value.toLowerCase());
}

/**
 * Finds and parses the Digest challenge among `WWW-Authenticate` values. Returns undefined when
 * there is none, or when it lacks a realm or nonce, names an algorithm this code does not speak,
 * or offers no qop=auth.
 */
export function parseDigestChallenge(
  header: string | readonly string[] | undefined,
): DigestChallenge | undefined {
  const values = header === undefined ? [] : typeof header === "string" ? [header] : header;
  for (const value of values) {
    const match = /(?:^|,)\s*Digest\s+(.*)$/is.exec(value);
    if (!match) continue;
    // A later challenge of another scheme may follow in the same header; cut it off.
    const rest = (match[1] ?? "").replace(/,\s*[A-Za-z][\w-]*\s+[\w-]+=.*$/s, "");
    const params = parseAuthParams(rest);
    if (!params) continue;
    const realm = params.get("realm");
    const nonce = params.get("nonce");
    const algorithm = parseAlgorithm(params.get("algorithm"));
    const qop = (params.get("qop") ?? "")
      .split(",")
      .map((q) => q.trim().toLowerCase())
      .filter(Boolean);
    if (realm === undefined || !nonce || !algorithm || !qop.includes("auth")) continue;
    const opaque = params.get("opaque");
    return {
      realm,
      nonce,
      algorithm,
      qop,
      stale: (params.get("stale") ?? "").toLowerCase() === "true",
      ...(opaque !== undefined ? { opaque } : {}),
    };
  }
  return undefined;
}

function hash(algorithm: DigestAlgorithm, data: string): string {
  return createHash(algorithm.startsWith("SHA-256") ? "sha256" : "md5")
    .update(data, "utf8")
    .digest("hex");
}

/** Computes the `response` value for qop=auth (RFC 7616 section 3.4.1). */
export function digestResponse(input: DigestInput): string {
  let ha1 = hash(input.algorithm, `${input.username}:${input.realm}:${input.password}`);
  if (input.algorithm.endsWith("-sess")) {
    ha1 = hash(input.algorithm, `${ha1}:${input.nonce}:${input.cnonce}`);
  }
  const ha2 = hash(input.algorithm, `${input.method}:${input.uri}`);
  return hash(
    input.algorithm,
    `${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`,
  );
}

function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, "\\$1")}"`;
}

/** Builds the `Authorization` header value for one request. */
export function formatDigestAuthorization(input: DigestInput, opaque?: string): string {
  const parts = [
    `username=${quote(input.username)}`,
    `realm=${quote(input.realm)}`,
    `uri=${quote(input.uri)}`,
    `algorithm=${input.algorithm}`,
    `nonce=${quote(input.nonce)}`,
    `nc=${input.nc}`,
    `cnonce=${quote(input.cnonce)}`,
    `qop=${input.qop}`,
    `response=${quote(digestResponse(input))}`,
  ];
  if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
  return `Digest ${parts.join(", ")}`;
}

/** Formats a nonce count as the 8 hex digits the `nc` parameter takes. */
export function formatNonceCount(count: number): string {
  return count.toString(16).padStart(8, "0");
}

/**
 * Parses the credentials of an `Authorization: Digest …` header (the server side). Returns the
 * parameters, or undefined when the header is not a well-formed Digest credential.
 */
export function parseDigestAuthorization(
  header: string | undefined,
): Map<string, string> | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!match) return undefined;
  return parseAuthParams(match[1] ?? "");
}

/** Checks a parsed algorithm name from a credential. */
export function digestAlgorithm(value: string | undefined): DigestAlgorithm | undefined {
  return parseAlgorithm(value);
}
