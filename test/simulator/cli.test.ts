/**
 * The simulator's command line, run as `npm run simulator` runs it: the built
 * dist/simulator/cli.js (`npm test` builds first; alone, run `npx tsc -p tsconfig.build.json`).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GROUP, JOB, json, send } from "./helpers.js";

const CLI = "dist/simulator/cli.js";

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runToEnd(args: string[]): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
beforeAll(async () => {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: build first (npx tsc -p tsconfig.build.json)`);
  dir = await mkdtemp(join(tmpdir(), "sim-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("node dist/simulator/cli.js", () => {
  it("prints one JSON line with its URL, serves, and exits 0 on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "--scenario", "config/scenarios/demo.yaml", "--clock", "manual"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const lines = createInterface({ input: child.stdout });
    const stdout: string[] = [];
    const firstLine = new Promise<string>((resolve) => lines.once("line", resolve));
    lines.on("line", (line) => stdout.push(line));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const first = JSON.parse(await firstLine) as Record<string, unknown>;
      expect(first).toMatchObject({
        level: 30,
        msg: "simulator listening",
        url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      });
      expect(typeof first["time"]).toBe("number");
      expect(first).not.toHaveProperty("hostname");
      const url = String(first["url"]);
      const now = json(await send(`${url}/_sim/now`));
      await send(`${url}/_sim/advance`, { method: "POST", body: '{"seconds":20}' });
      const anonymous = await send(
        `${url}/api/atlas/v2/groups/${GROUP}/clusters/Cluster0/backup/tenant/restores/${JOB}`,
      );
      expect(anonymous.status).toBe(401);
      expect(json(await send(`${url}/_sim/now`))["now"]).toBe(Number(now["now"]) + 20_000);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    for (const line of stdout) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(stdout.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      "simulator listening",
      "simulator stopped",
    ]);
  });

  it("exits 78 for a bad scenario, naming the key and the value, without a stack trace", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(
      file,
      [
        "jobs:",
        `  - groupId: "${GROUP}"`,
        "    clusterName: Cluster0",
        `    id: "${JOB}"`,
        "    script:",
        "      - { afterSeconds: 0, status: PENDING }",
        "      - { afterSeconds: 5, status: 42 }",
        "    colour: red",
        "",
      ].join("\n"),
    );
    const result = await runToEnd(["--scenario", file]);
    expect(result.code).toBe(78);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`invalid scenario ${file}`);
    expect(result.stderr).toContain(
      "jobs[0].script[1].status: Invalid input: expected string, received number (got 42)",
    );
    expect(result.stderr).toContain("jobs[0].colour: unknown key");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 78 for a missing file and 64 for bad arguments", async () => {
    const missing = await runToEnd(["--scenario", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain("nope.yaml");
    expect(missing.stderr).toContain("ENOENT");
    const none = await runToEnd([]);
    expect([none.code, none.stderr]).toEqual([
      64,
      expect.stringContaining("--scenario FILE is required"),
    ]);
    const clock = await runToEnd(["--scenario", "config/scenarios/demo.yaml", "--clock", "fast"]);
    expect([clock.code, clock.stderr]).toEqual([64, expect.stringContaining('--clock: "fast"')]);
  });
});
