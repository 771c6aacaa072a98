/**
 * The README's first command: the demo plays its scenario to the end. It runs in real time
 * (about 55 s), as a newcomer sees it.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DEMO = fileURLToPath(new URL("../../dist/commands/demo.js", import.meta.url));

describe("npm run demo", () => {
  it("shows every transition, the FAILED one at error level, the switch to Flex, then stops", async () => {
    const child = spawn(process.execPath, [DEMO, "--port", "0", "--until-done"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(stderr).toMatch(/demo: metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const transitions = lines
      .filter((l) => l.event === "restore_transition")
      .map((l) => `${l.level} ${String(l.restoreId).slice(-2)} ${l.from}→${l.to}`);
    expect([...transitions].sort()).toEqual(
      [
        "30 20 null→PENDING",
        "30 20 PENDING→QUEUED",
        "30 20 QUEUED→RUNNING",
        "30 20 RUNNING→COMPLETED",
        "30 21 null→PENDING",
        "30 21 PENDING→RUNNING",
        "50 21 RUNNING→FAILED",
        "30 30 null→PENDING",
        "30 30 PENDING→RUNNING",
        "30 30 RUNNING→COMPLETED",
        "30 22 null→QUEUED",
        "30 22 QUEUED→RUNNING",
        "30 22 RUNNING→COMPLETED",
      ].sort(),
    );
    const switched = lines.filter((l) => l.event === "restore_api_switched");
    expect(switched).toMatchObject([
      { level: 40, restoreId: "6a793f81d2c4a03c5e4b1f22", from: "tenant", to: "flex" },
    ]);
    expect(lines.filter((l) => l.event === "restore_api_deprecated")).toMatchObject([
      { level: 40, api: "tenant", deprecation: "2024-11-13T00:00:00.000Z" },
    ]);
  }, 120_000);
});
