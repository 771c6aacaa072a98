/**
 * The HTTP server for Prometheus and the orchestrator: /metrics, /healthz, /readyz and a short
 * index page. It limits header size and time per request, and answers anything else with 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.js";

/** What the server serves. */
export interface ServerOptions {
  /** Renders the metrics exposition. */
  readonly render: () => Promise<string>;
  readonly contentType: string;
  /** True once the configuration is loaded and the first cycle has finished. */
  readonly isReady: () => boolean;
  readonly logger: Logger;
  /** Time allowed to send the request headers (default 10 s) and the whole request (30 s). */
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** The running server. */
export interface MetricsServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

const INDEX = `<!doctype html>
<html><head><title>atlas-restore-watch</title></head>
<body><h1>atlas-restore-watch</h1>
<p>Watches MongoDB Atlas restore jobs.</p>
<ul><li><a href="metrics">Metrics</a></li><li><a href="healthz">Health</a></li><li><a href="readyz">Readiness</a></li></ul>
</body></html>
`;

function reply(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = "text/plain; charset=utf-8",
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...extra,
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

async function handle(options: ServerOptions, req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? "/").split("?", 1)[0];
  const known = path === "/" || path === "/metrics" || path === "/healthz" || path === "/readyz";
  if (!known) return reply(res, 404, "not found\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    return reply(res, 405, "method not allowed\n", undefined, { allow: "GET, HEAD" });
  }
  switch (path) {
    case "/":
      return reply(res, 200, INDEX, "text/html; charset=utf-8");
    case "/healthz":
      return reply(res, 200, "ok\n");
    case "/readyz":
      return options.isReady() ? reply(res, 200, "ready\n") : reply(res, 503, "not ready\n");
    default: {
      const body = await options.render();
      return reply(res, 200, body, options.contentType);
    }
  }
}

/** Starts the server on host:port (port 0 picks a free one). */
export async function startServer(
  options: ServerOptions,
  host: string,
  port: number,
): Promise<MetricsServer> {
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const server: Server = createServer(
    {
      maxHeaderSize: 16 * 1024,
      headersTimeout,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      // Node checks those timeouts on this period (30 s by default, too coarse to enforce them).
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
    },
    (req, res) => {
      handle(options, req, res).catch((error: unknown) => {
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
