import { connect } from "node:net";
import { pino } from "pino";
import { Registry, Gauge } from "prom-client";
import { gunzipSync } from "node:zlib";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { DeflatedPiece, type ExpositionPiece } from "../../src/http/exposition-response.js";
import { startServer, type MetricsServer } from "../../src/http/server.js";
import type { StatusSnapshot } from "../../src/http/status-snapshot.js";

function emptySnapshot(): StatusSnapshot {
  return {
    now: 0,
    startedAt: 0,
    version: "0.0.0",
    ready: true,
    jobs: [],
    errors: new Map(),
    transitions: [],
  };
}

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(
  ready: () => boolean,
  registry = new Registry(),
  render: () => Promise<ExpositionPiece[]> = async () => [Buffer.from(await registry.metrics())],
) {
  server = await startServer(
    {
      render,
      contentType: registry.contentType,
      isReady: ready,
      status: () => emptySnapshot(),
      logger: pino({ level: "silent" }),
    },
    "127.0.0.1",
    0,
  );
  return `http://127.0.0.1:${server.address.port}`;
}

async function get(url: string, method: "GET" | "HEAD" | "POST" = "GET") {
  const res = await request(url, { method });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** A GET or HEAD that accepts gzip, and its body as it came. */
async function getGzip(url: string, method: "GET" | "HEAD" = "GET") {
  const res = await request(url, { method, headers: { "accept-encoding": "gzip, deflate, br" } });
  return {
    status: res.statusCode,
    headers: res.headers,
    body: Buffer.from(await res.body.arrayBuffer()),
  };
}

/** Sends raw bytes and returns what the server answers before closing. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let data = "";
    socket.on("data", (chunk) => (data += chunk.toString()));
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
}

describe("metrics and health server", () => {
  it("serves the registry in the Prometheus text format", async () => {
    const registry = new Registry();
    new Gauge({ name: "probe_value", help: "A value.", registers: [registry] }).set(7);
    const base = await start(() => true, registry);
    const res = await get(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(res.body).toBe("# HELP probe_value A value.\n# TYPE probe_value gauge\nprobe_value 7\n");
    const head = await get(`${base}/metrics`, "HEAD");
    expect(head).toMatchObject({ status: 200, body: "" });
    expect(head.headers["content-length"]).toBe(String(res.body.length));
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.headers.vary).toBe("Accept-Encoding");
  });

  it("serves /metrics gzip-compressed when asked, the same text once uncompressed", async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: "probe_value", help: "A value.", registers: [registry] });
    gauge.set(7);
    const base = await start(() => true, registry);
    const plain = await get(`${base}/metrics`);
    const res = await getGzip(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "content-encoding": "gzip",
      vary: "Accept-Encoding",
      "content-length": String(res.body.length),
    });
    expect(gunzipSync(res.body).toString()).toBe(plain.body);
    // A later scrape shows the registry's new values.
    gauge.set(8);
    expect(gunzipSync((await getGzip(`${base}/metrics`)).body).toString()).toMatch(
      /^probe_value 8$/m,
    );
    const head = await getGzip(`${base}/metrics`, "HEAD");
    expect(head.headers["content-encoding"]).toBe("gzip");
    expect(head.body.length).toBe(0);
  });

  it("serves pieces kept compressed, larger than what a plain answer lets wait, again and again", async () => {
    // Six pieces of 600 kB each, every other one kept compressed: more than the 2 MB a plain
    // answer inflates before it waits for the connection.
    const texts = Array.from({ length: 6 }, (_, n) =>
      Buffer.from(`piece_${n}{i="${"x".repeat(40)}"} ${n}\n`.repeat(600_000 / 60)),
    );
    const pieces = texts.map((text, n) => (n % 2 === 0 ? new DeflatedPiece(text) : text));
    const base = await start(
      () => true,
      undefined,
      () => Promise.resolve(pieces),
    );
    const expected = Buffer.concat(texts).toString();
    for (let round = 0; round < 2; round++) {
      const plain = await get(`${base}/metrics`);
      expect(plain.status).toBe(200);
      expect(plain.body.length).toBe(expected.length);
      expect(plain.body === expected).toBe(true);
      expect(gunzipSync((await getGzip(`${base}/metrics`)).body).toString() === expected).toBe(
        true,
      );
    }
    // A client that leaves in the middle of a plain answer leaves the server serving.
    const port = server!.address.port;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () =>
        socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      socket.once("data", () => {
        socket.destroy();
        resolve();
      });
      socket.on("error", reject);
    });
    expect((await get(`${base}/metrics`)).body === expected).toBe(true);
  });

  it("answers /healthz always and /readyz only when ready", async () => {
    let ready = false;
    const base = await start(() => ready);
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: "ok\n" });
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 503, body: "not ready\n" });
    ready = true;
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 200, body: "ready\n" });
  });

  it("links to /metrics from the index page", async () => {
    const base = await start(() => true);
    const res = await get(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.body).toContain('<a href="metrics">/metrics</a>');
  });

  it.each([
    ["/nope", "GET", 404],
    ["/metrics/extra", "GET", 404],
    ["/metrics", "POST", 405],
  ] as const)("answers %s %s with %i", async (path, method, status) => {
    const base = await start(() => true);
    expect((await get(`${base}${path}`, method)).status).toBe(status);
  });

  it("answers HEAD without a body and ignores the query", async () => {
    const base = await start(() => true);
    const res = await get(`${base}/healthz?x=1`, "HEAD");
    expect(res).toMatchObject({ status: 200, body: "" });
    expect(res.headers["content-length"]).toBe("3");
  });

  it("refuses oversized headers with 431 and garbage with 400, and keeps serving", async () => {
    const base = await start(() => true);
    const port = server!.address.port;
    const big = `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`;
    expect(await raw(port, big)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await raw(port, "NOT HTTP AT ALL\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
    expect((await get(`${base}/healthz`)).status).toBe(200);
  });
});

describe("slow clients", () => {
  it("answers 408 to a client that never finishes its headers", async () => {
    const logger = pino({ level: "silent" });
    server = await startServer(
      {
        render: async () => [],
        contentType: "text/plain",
        isReady: () => true,
        status: () => emptySnapshot(),
        logger,
        headersTimeoutMs: 300,
        requestTimeoutMs: 300,
      },
      "127.0.0.1",
      0,
    );
    // Half a request, then nothing: the server must give up on it rather than hold it forever.
    const answer = await raw(server.address.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe("POST /-/reload", () => {
  async function startWith(enabled: () => boolean, problems: readonly string[] | undefined) {
    const calls: string[] = [];
    server = await startServer(
      {
        render: async () => [],
        contentType: "text/plain",
        isReady: () => true,
        status: () => emptySnapshot(),
        logger: pino({ level: "silent" }),
        lifecycle: {
          enabled,
          reload: async () => {
            calls.push("reload");
            return problems === undefined ? { ok: true } : { ok: false, problems };
          },
        },
      },
      "127.0.0.1",
      0,
    );
    return { base: `http://127.0.0.1:${server.address.port}`, calls };
  }

  it("answers 403 while lifecycle APIs are disabled, and reloads nothing", async () => {
    const { base, calls } = await startWith(() => false, undefined);
    expect(await get(`${base}/-/reload`, "POST")).toMatchObject({
      status: 403,
      body: "Lifecycle API is not enabled.\n",
    });
    expect(calls).toEqual([]);
  });

  it("answers 200 once reloaded, 400 with the problem lines, 405 to a GET", async () => {
    let enabled = true;
    const ok = await startWith(() => enabled, undefined);
    expect(await get(`${ok.base}/-/reload`, "POST")).toMatchObject({
      status: 200,
      body: "configuration reloaded\n",
    });
    expect(await get(`${ok.base}/-/reload`)).toMatchObject({
      status: 405,
      headers: { allow: "POST, PUT" },
    });
    enabled = false;
    expect((await get(`${ok.base}/-/reload`, "POST")).status).toBe(403);
    expect(ok.calls).toEqual(["reload"]);
    await server?.close();
    const bad = await startWith(
      () => true,
      ['watch[0].orgId: "x" is not a 24-character lowercase hexadecimal id'],
    );
    expect(await get(`${bad.base}/-/reload`, "POST")).toMatchObject({
      status: 400,
      body: 'configuration not reloaded:\nwatch[0].orgId: "x" is not a 24-character lowercase hexadecimal id\n',
    });
  });
});
