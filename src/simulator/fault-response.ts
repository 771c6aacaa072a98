/** What each fault kind does to an answer: replace it, delay it, corrupt it or drop it. */
import { apiErrorReply, goneReply } from "./api-error.js";
import type { Exchange } from "./exchange.js";
import type { Fault } from "./fault.js";
import { withHeaders, type Reply } from "./reply.js";

/** Default size of a `huge_body` answer. */
export const DEFAULT_HUGE_BODY_BYTES = 32 * 1024 * 1024;

/** What a fault needs to know about the request it hits. */
export interface FaultContext {
  /** Whether the route answers a list (LIST) rather than one object. */
  readonly list: boolean;
  /** The content type of a successful answer on this route. */
  readonly contentType: string;
  /** Headers every answer on this route carries (RateLimit-*, Sunset, Deprecation). */
  readonly headers: Readonly<Record<string, string>>;
  /** The answer without the fault; computed only when needed (it may issue a token). */
  normal(): Reply;
  /** A 200 answer with a valid body for this route: the normal one if it is a 200. */
  sample(): Reply;
  /** A 200 answer with a valid body whose id is another job's. */
  wrongId(): Reply;
  /** The route's 401 answer. */
  unauthorized(): Reply;
}

const HTML_PAGE =
  "<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>" +
  "<body><h1>Service Temporarily Unavailable</h1><p>Please try again later.</p></body></html>\n";

/** Answers a request that met `fault`. */
export function performFault(ex: Exchange, fault: Fault, ctx: FaultContext): void {
  const send = (reply: Reply): void => ex.send(withHeaders(reply, ctx.headers));
  const retryAfter: Record<string, string> =
    fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {};
  switch (fault.kind) {
    case "rate_limit": {
      const reply = apiErrorReply(
        429,
        "RATE_LIMITED",
        fault.detail ?? "Too many requests. Retry later.",
        retryAfter,
      );
      if (fault.rateLimitHeaders === false) {
        const headers = Object.fromEntries(
          Object.entries(ctx.headers).filter(([name]) => !name.startsWith("ratelimit-")),
        );
        ex.send(withHeaders(reply, headers));
      } else {
        const remaining =
          "ratelimit-remaining" in ctx.headers ? { "ratelimit-remaining": "0" } : {};
        ex.send(withHeaders(withHeaders(reply, ctx.headers), remaining, true));
      }
      return;
    }
    case "server_error":
      return send(apiErrorReply(500, "UNEXPECTED_ERROR", fault.detail ?? "Unexpected error.", {}));
    case "unavailable":
      // Atlas's errorCode for a 503 is unconfirmed.
      return send(
        apiErrorReply(
          503,
          "SERVICE_UNAVAILABLE",
          fault.detail ?? "Service unavailable.",
          retryAfter,
        ),
      );
    case "not_found":
      return send(
        apiErrorReply(
          404,
          "CLUSTER_NOT_FOUND",
          fault.detail ?? "No cluster with this name exists.",
        ),
      );
    case "gone":
      return send(goneReply());
    case "unauthorized":
      return send(ctx.unauthorized());
    case "forbidden":
      // What Atlas answers an API key or service account called from outside its access list.
      return send(
        apiErrorReply(
          403,
          "IP_ADDRESS_NOT_ON_ACCESS_LIST",
          "IP address 127.0.0.1 is not allowed to access this resource.",
        ),
      );
    case "wrong_id":
      return send(ctx.wrongId());
    case "invalid_body":
      return send({
        status: 200,
        headers: { "content-type": ctx.contentType },
        body: ctx.list ? '[{"unexpected":true}]' : '{"unexpected":true}',
      });
    case "wrong_content_type":
      return send({
        status: 200,
        headers: { "content-type": "text/html; charset=utf-8" },
        body: HTML_PAGE,
      });
    case "malformed_json": {
      const body = ctx.sample().body;
      return send({
        status: 200,
        headers: { "content-type": ctx.contentType },
        body: body.slice(0, Math.max(1, Math.floor(body.length / 2))),
      });
    }
    case "reset":
      return ex.reset();
    case "slow_headers":
      // Without delayMs the answer never comes: the client's headers timeout must fire.
      if (fault.delayMs !== undefined) ex.later(fault.delayMs, () => send(ctx.normal()));
      return;
    case "slow_body":
      return slowBody(ex, withHeaders(ctx.normal(), ctx.headers), fault.delayMs);
    case "lying_length":
      return lyingLength(ex, withHeaders(ctx.sample(), ctx.headers));
    case "huge_body":
      return hugeBody(
        ex,
        withHeaders(ctx.sample(), ctx.headers),
        fault.sizeBytes ?? DEFAULT_HUGE_BODY_BYTES,
      );
  }
}

/** Headers and half the body, then (after `delayMs`, or never) the rest. */
function slowBody(ex: Exchange, reply: Reply, delayMs: number | undefined): void {
  const bytes = Buffer.from(reply.body);
  const half = Math.floor(bytes.length / 2);
  ex.head(reply.status, { ...reply.headers, "content-length": String(bytes.length) });
  ex.res.write(bytes.subarray(0, half));
  if (delayMs !== undefined) ex.later(delayMs, () => ex.res.end(bytes.subarray(half)));
}

/** Announces more bytes than it sends, then closes the connection. */
function lyingLength(ex: Exchange, reply: Reply): void {
  const bytes = Buffer.from(reply.body);
  ex.head(reply.status, { ...reply.headers, "content-length": String(bytes.length + 1024) });
  ex.res.write(bytes, () => ex.req.socket.destroy());
}

/**
 * A 200 of `size` bytes of valid JSON: the sample body with a long `padding` string, streamed
 * with backpressure so that 32 MiB cost no 32 MiB buffer.
 */
function hugeBody(ex: Exchange, reply: Reply, size: number): void {
  const head = Buffer.from(`${reply.body.replace(/}\s*$/, "")},"padding":"`);
  const tail = Buffer.from('"}');
  let left = Math.max(0, size - head.length - tail.length);
  ex.head(200, {
    ...reply.headers,
    "content-length": String(head.length + left + tail.length),
  });
  const res = ex.res;
  const chunk = Buffer.alloc(64 * 1024, "x");
  res.write(head);
  const pump = (): void => {
    while (left > 0) {
      if (res.destroyed) return;
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once("drain", pump);
        return;
      }
    }
    res.end(tail);
  };
  pump();
}
