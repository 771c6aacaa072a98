/**
 * The egress proxy: operators set HTTPS_PROXY / HTTP_PROXY / NO_PROXY, and every request to
 * Atlas (tokens included) goes through the proxy they name, unless NO_PROXY names the host.
 */
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createAgent } from "../../src/atlas/transport.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  GROUP,
  SERVICE_ACCOUNT_CREDENTIALS,
  clientFor,
  id,
  startSim,
} from "../support/fixtures.js";

/**
 * A proxy on 127.0.0.1, as operators run one: it forwards absolute-form requests (http:// targets)
 * and tunnels CONNECT (https:// targets). Records the authority of each request it carried.
 */
async function startConnectProxy(): Promise<{ url: string; tunnels: string[]; server: Server }> {
  const tunnels: string[] = [];
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? "/");
    tunnels.push(target.host);
    const forward = request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  server.on("connect", (req, client, head) => {
    tunnels.push(req.url ?? "");
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host ?? "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, tunnels, server };
}

let sim: Simulator | undefined;
let proxy: Awaited<ReturnType<typeof startConnectProxy>> | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  proxy?.server.closeAllConnections();
  proxy?.server.close();
  proxy = undefined;
});

const JOB = { groupId: GROUP, clusterName: "Flex0", restoreId: id(0x91) };

async function world() {
  sim = await startSim({
    clusters: [{ groupId: GROUP, name: "Flex0", kind: "flex" }],
    jobs: [
      {
        groupId: GROUP,
        clusterName: "Flex0",
        id: JOB.restoreId,
        script: [{ afterSeconds: 0, status: "RUNNING" }],
      },
    ],
  });
  proxy = await startConnectProxy();
  return { sim, proxy };
}

describe("the egress proxy", () => {
  it("sends every request, the token's too, through HTTP_PROXY", async () => {
    const { sim: s, proxy: p } = await world();
    const agent = createAgent({}, { HTTP_PROXY: p.url });
    const { client } = clientFor(s, SERVICE_ACCOUNT_CREDENTIALS, undefined, agent);
    expect((await client.getRestoreJob("flex", JOB)).status).toBe("RUNNING");
    const authority = new URL(s.url).host;
    // The token request and the poll, both through the proxy.
    expect(p.tunnels).toEqual([authority, authority]);
    expect(s.stats().tokenRequests).toBe(1);
    await agent.close();
  });

  it("goes direct to a host NO_PROXY names, and with no proxy set", async () => {
    const { sim: s, proxy: p } = await world();
    for (const env of [{ HTTP_PROXY: p.url, NO_PROXY: "127.0.0.1" }, {}]) {
      const agent = createAgent({}, env);
      const { client } = clientFor(s, SERVICE_ACCOUNT_CREDENTIALS, undefined, agent);
      expect((await client.getRestoreJob("flex", JOB)).status).toBe("RUNNING");
      await agent.close();
    }
    expect(p.tunnels).toEqual([]);
  });
});
