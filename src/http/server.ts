/**
 * The HTTP server for Prometheus, the orchestrator and people: /metrics, /healthz (503 when poll
 * cycles stopped finishing), /readyz, the status page at / and its data at /api/jobs, and
 * `POST /-/reload` (only when lifecycle APIs are enabled, as Prometheus's --web.enable-lifecycle).
 * It limits header size and time per request, answers a bad query with 400 and anything else
 * with 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.js";
import { GzipPieces, sendExposition, type ExpositionPiece } from "./exposition-response.js";
import { jobsApiAnswer, type Answer } from "./jobs-api.js";
import type { StatusSnapshot } from "./status-snapshot.js";
import { statusPageAnswer } from "./status-page.js";

/** What the server serves. */
export interface ServerOptions {
  /** Renders the metrics exposition, in pieces to write in order. */
  readonly render: () => Promise<readonly ExpositionPiece[]>;
  readonly contentType: string;
  /** True once the configuration is loaded and the first cycle has finished. */
  readonly isReady: () => boolean;
  /** What the status page and /api/jobs show, taken per request. */
  readonly status: () => StatusSnapshot;
  /** False when no poll cycle has finished for too long (see health.ts); healthy if absent. */
  readonly isHealthy?: () => boolean;
  readonly logger: Logger;
  /** `POST /-/reload`: whether it is enabled now (403 otherwise), and what it runs. */
  readonly lifecycle?: {
    readonly enabled: () => boolean;
    readonly reload: () => Promise<
      { readonly ok: true } | { readonly ok: false; readonly problems: readonly string[] }
    >;
  };
  /** Time allowed to send the request headers (default 10 s) and the whole request (30 s). */
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** The running server. */
export interface MetricsServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

const PATHS = new Set(["/", "/metrics", "/healthz", "/readyz", "/api/jobs"]);

function reply(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = "text/plain; charset=utf-8",
  extra: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...extra,
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function answer(res: ServerResponse, { status, body, contentType, headers }: Answer): void {
  reply(res, status, body, contentType, headers);
}

async function handle(
  options: ServerOptions,
  gzip: GzipPieces,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const search = queryAt === -1 ? "" : url.slice(queryAt + 1);
  if (path === "/-/reload") return handleReload(options, req, res);
  if (!PATHS.has(path)) return reply(res, 404, "not found\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    return reply(res, 405, "method not allowed\n", undefined, { allow: "GET, HEAD" });
  }
  switch (path) {
    case "/":
      return answer(res, statusPageAnswer(options.status(), search));
    case "/api/jobs":
      return answer(res, jobsApiAnswer(options.status(), search));
    case "/healthz":
      return (options.isHealthy?.() ?? true)
        ? reply(res, 200, "ok\n")
        : reply(res, 503, "no poll cycle finished recently\n");
    case "/readyz":
      return options.isReady() ? reply(res, 200, "ready\n") : reply(res, 503, "not ready\n");
    default:
      return sendExposition(req, res, await options.render(), options.contentType, gzip);
  }
}

/** `POST /-/reload`: 200 once applied, 400 with the problem lines, 403 when not enabled. */
async function handleReload(options: ServerOptions, req: IncomingMessage, res: ServerResponse) {
  if (req.method !== "POST" && req.method !== "PUT") {
    return reply(res, 405, "method not allowed\n", undefined, { allow: "POST, PUT" });
  }
  req.resume();
  const lifecycle = options.lifecycle;
  if (!lifecycle?.enabled()) return reply(res, 403, "Lifecycle API is not enabled.\n");
  const result = await lifecycle.reload();
  if (result.ok) return reply(res, 200, "configuration reloaded\n");
  return reply(res, 400, `configuration not reloaded:\n${result.problems.join("\n")}\n`);
}

/** Starts the server on host:port (port 0 picks a free one). */
export async function startServer(
  options: ServerOptions,
  host: string,
  port: number,
): Promise<MetricsServer> {
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const gzip = new GzipPieces();
  const server: Server = createServer(
    {
      maxHeaderSize: 16 * 1024,
      headersTimeout,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      // Node checks those timeouts on this period: 30 s by default, too coarse to enforce them;
      // half the headers timeout drops a slow client within one and a half of it, and wakes an
      // idle daemon less often than a check every second did.
      connectionsCheckingInterval: headersTimeout / 2,
    },
    (req, res) => {
      handle(options, gzip, req, res).catch((error: unknown) => {
        options.logger.error(
          { event: "http_error", err: error instanceof Error ? error.message : String(error) },
          "request handling failed",
        );
        if (!res.headersSent) reply(res, 500, "internal error\n");
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 5_000;
  // Node's own clientError handling answers 400, 408 and 431 (headers too large) and closes.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
