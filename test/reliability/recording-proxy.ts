/**
 * A forwarding HTTP proxy on 127.0.0.1 that records every Authorization header the daemon sends,
 * so that the secret scan knows the exact Basic, Bearer and Digest values that went on the wire.
 */
import { Agent, createServer, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** A running proxy in front of one upstream base URL. */
export interface RecordingProxy {
  /** Base URL to give the daemon instead of the upstream's. */
  readonly url: string;
  /** Every Authorization value seen, in order. */
  readonly authorizations: string[];
  close(): Promise<void>;
}

/** Starts a proxy that forwards every request, unchanged, to `upstream` (an http:// base URL). */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) authorizations.push(authorization);
    const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
    const forward = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on("error", () => res.destroy());
      },
    );
    // The daemon going away mid-request, or the upstream closing, ends the other side too.
    forward.on("error", () => res.destroy());
    res.on("close", () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
