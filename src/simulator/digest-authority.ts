/**
 * The server side of HTTP Digest (RFC 7616) as Atlas runs it: issues challenges and verifies
 * credentials, with nonce expiry (stale=true) and a replay check on each (nonce, nc) pair.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  digestAlgorithm,
  digestResponse,
  parseDigestAuthorization,
  type DigestAlgorithm,
} from "../atlas/digest.js";

/** The realm Atlas's challenge names. */
export const DIGEST_REALM = "MMS Public API";

/** What a credential is worth: accepted, right but with an expired nonce, or refused. */
export type DigestVerdict = "ok" | "stale" | "invalid";

/** What the authority needs: the algorithm it offers, the users, the nonce lifetime, a clock. */
export interface DigestAuthorityOptions {
  readonly algorithm: "MD5" | "SHA-256";
  /** Public key to private key. */
  readonly users: ReadonlyMap<string, string>;
  readonly nonceTtlMs: number;
  readonly now: () => number;
}

interface NonceInfo {
  readonly seq: number;
  readonly issuedAt: number;
}

/** Which nonce counts of one nonce were used: all up to `floor`, and those in `above`. */
interface NonceUse {
  readonly info: NonceInfo;
  floor: number;
  readonly above: Set<number>;
}

const NONCE_BYTES = 28;

/**
 * Issues and checks Digest nonces. A nonce is self-describing (sequence number, issue time and an
 * HMAC), so any nonce this instance issued is recognised without keeping a table of them.
 */
export class DigestAuthority {
  private readonly secret = randomBytes(32);
  private nextSeq = 0;
  private staleBelow = 0;
  private readonly used = new Map<string, NonceUse>();

  constructor(private readonly options: DigestAuthorityOptions) {}

  /** A `WWW-Authenticate` value with a fresh nonce, formatted exactly like Atlas's. */
  challenge(stale: boolean): string {
    return (
      `Digest realm="${DIGEST_REALM}", domain="", nonce="${this.issue()}", ` +
      `algorithm=${this.options.algorithm}, qop="auth", stale=${stale}`
    );
  }

  /** Every nonce issued so far is stale from now on. */
  expireAll(): void {
    this.staleBelow = this.nextSeq;
    this.used.clear();
  }

  /**
   * Checks an `Authorization: Digest …` value for a request. `uri` is the request target as
   * received (path and query). The (nonce, nc) pair is used up when the verdict is "ok".
   */
  verify(header: string, method: string, uri: string): DigestVerdict {
    const p = parseDigestAuthorization(header);
    if (!p) return "invalid";
    const username = p.get("username");
    const nonce = p.get("nonce");
    const nc = p.get("nc");
    const cnonce = p.get("cnonce");
    const response = p.get("response");
    const algorithm: DigestAlgorithm | undefined = digestAlgorithm(p.get("algorithm"));
    if (
      username === undefined ||
      nonce === undefined ||
      nc === undefined ||
      !/^[0-9a-fA-F]{8}$/.test(nc) ||
      cnonce === undefined ||
      response === undefined ||
      p.get("qop")?.toLowerCase() !== "auth" ||
      p.get("realm") !== DIGEST_REALM ||
      p.get("uri") !== uri ||
      algorithm !== this.options.algorithm
    ) {
      return "invalid";
    }
    const password = this.options.users.get(username);
    if (password === undefined) return "invalid";
    const expected = digestResponse({
      algorithm,
      username,
      password,
      realm: DIGEST_REALM,
      method,
      uri,
      nonce,
      nc,
      cnonce,
      qop: "auth",
    });
    if (!sameText(expected, response.toLowerCase())) return "invalid";
    const info = this.decode(nonce);
    if (!info) return "invalid";
    if (this.isStale(info)) return "stale";
    return this.useOnce(nonce, info, parseInt(nc, 16)) ? "ok" : "invalid";
  }

  private issue(): string {
    const payload = Buffer.alloc(12);
    payload.writeUInt32BE(this.nextSeq++ >>> 0, 0);
    payload.writeDoubleBE(Math.floor(this.options.now()), 4);
    const mac = createHmac("sha256", this.secret).update(payload).digest().subarray(0, 16);
    return Buffer.concat([payload, mac]).toString("base64");
  }

  private decode(nonce: string): NonceInfo | undefined {
    const raw = Buffer.from(nonce, "base64");
    if (raw.length !== NONCE_BYTES || raw.toString("base64") !== nonce) return undefined;
    const payload = raw.subarray(0, 12);
    const mac = createHmac("sha256", this.secret).update(payload).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, raw.subarray(12))) return undefined;
    return { seq: payload.readUInt32BE(0), issuedAt: payload.readDoubleBE(4) };
  }

  private isStale(info: NonceInfo): boolean {
    return (
      info.seq < this.staleBelow || this.options.now() - info.issuedAt > this.options.nonceTtlMs
    );
  }

  /** Records (nonce, nc); false when it was used before. Counts may arrive in any order. */
  private useOnce(nonce: string, info: NonceInfo, nc: number): boolean {
    this.forgetExpired();
    let use = this.used.get(nonce);
    if (!use) {
      use = { info, floor: 0, above: new Set() };
      this.used.set(nonce, use);
    }
    if (nc <= use.floor || use.above.has(nc)) return false;
    use.above.add(nc);
    while (use.above.delete(use.floor + 1)) use.floor++;
    return true;
  }

  /** Drops the replay records of expired nonces (oldest first), keeping memory bounded. */
  private forgetExpired(): void {
    for (const [nonce, use] of this.used) {
      if (!this.isStale(use.info)) break;
      this.used.delete(nonce);
    }
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
