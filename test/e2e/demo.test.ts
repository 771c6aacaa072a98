/**
 * The README's first command: the demo plays its scenario to the end. It runs in real time
 * (about 55 s), as a newcomer sees it: the status page's address first, then one readable line
 * per event.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DEMO = fileURLToPath(new URL("../../dist/commands/demo.js", import.meta.url));

describe("npm run demo", () => {
  it("finds every restore of the project by itself, the FAILED one at error level, then stops", async () => {
    const child = spawn(process.execPath, [DEMO, "--port", "0", "--until-done"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    const page = /^Status page: (http:\/\/127\.0\.0\.1:\d+)\/ {2}\(metrics: \1\/metrics\)$/;
    expect(lines[0]).toMatch(page);
    expect(lines[1]).toMatch(
      /^\d\d:\d\d:\d\d INFO {2}started \d+\.\d+\.\d+: 1 jobs, 1 watch entries, schedule "\*\/2 \* \* \* \* \*", api auto, apiKey, listening on 127\.0\.0\.1:\d+$/,
    );
    // Every line is for people: a time and a level, never the daemon's raw JSON.
    for (const line of lines.slice(1)) {
      expect(line).toMatch(/^\d\d:\d\d:\d\d (INFO |WARN |ERROR) \S/);
    }
    const transition =
      /^\d\d:\d\d:\d\d (INFO |ERROR) (?:Cluster0|Flex0|Flex1|Prod0) [0-9a-f]{22}([0-9a-f]{2}) \((?:tenant|flex|dedicated)\): (?:first seen, (\w+)|(\w+) → (\w+))/;
    const transitions = lines.flatMap((line) => {
      const m = transition.exec(line);
      return m ? [`${m[1]?.trim()} ${m[2]} ${m[4] ?? "null"}→${m[3] ?? m[5]}`] : [];
    });
    expect([...transitions].sort()).toEqual(
      [
        "INFO 30 null→PENDING",
        "INFO 30 PENDING→RUNNING",
        "INFO 30 RUNNING→COMPLETED",
        "INFO 31 null→PENDING",
        "INFO 31 PENDING→RUNNING",
        "ERROR 31 RUNNING→FAILED",
        "INFO 32 null→QUEUED",
        "INFO 32 QUEUED→RUNNING",
        "INFO 32 RUNNING→COMPLETED",
        "INFO 40 null→RUNNING",
        "INFO 40 RUNNING→COMPLETED",
        "INFO 22 null→QUEUED",
        "INFO 22 QUEUED→RUNNING",
        "INFO 22 RUNNING→COMPLETED",
      ].sort(),
    );
    // The cluster created 15 s in, and the shared-tier one once Atlas made it Flex, are found.
    // Flex0 and Prod0 come from one listing round, in either order.
    expect(
      lines.flatMap((line) => /INFO {2}watching (\w+) in project/.exec(line)?.[1] ?? []).sort(),
    ).toEqual(["Cluster0", "Flex0", "Flex1", "Prod0"]);
    // The dedicated restore is dated by its id, minted for this run: minutes, not months.
    const dedicated = lines.find((line) =>
      / Prod0 \w+ \(dedicated\): RUNNING → COMPLETED/.test(line),
    );
    expect(dedicated).toMatch(/after \d+ s, \d+ s from scheduled to finished$/);
    const [, fromScheduled] = /, (\d+) s from scheduled to finished$/.exec(dedicated ?? "") ?? [];
    expect(Number(fromScheduled)).toBeGreaterThanOrEqual(40);
    expect(Number(fromScheduled)).toBeLessThan(120);
    expect(lines.filter((line) => line.includes("moved from"))).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d WARN {2}Cluster0 6a793f81d2c4a03c5e4b1f22: moved from the tenant to the flex API \(\w+\)$/,
      ),
    ]);
    expect(lines.filter((line) => line.includes("announced the end"))).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d WARN {2}Atlas announced the end of the tenant API: deprecated 2024-11-13T00:00:00\.000Z, sunset /,
      ),
    ]);
  }, 120_000);
});
