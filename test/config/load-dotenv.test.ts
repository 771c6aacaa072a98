import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, formatProblem } from "../../src/config/config-error.js";
import { loadDotenv } from "../../src/config/load-dotenv.js";
import { loadSettings } from "../../src/config/load-settings.js";

let dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "restore-watch-dotenv-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  dirs = [];
});

const DOTENV = `# local development
MONGODB_ATLAS_CLIENT_ID=mdb_sa_id_dotenv
MONGODB_ATLAS_CLIENT_SECRET="dotenv secret"
RESTORE_WATCH_API=tenant
LOG_LEVEL=debug
RESTORE_WATCH_CONCURRENCY=2
`;

describe("loadDotenv", () => {
  it("fills unset and empty variables only, and the settings see them", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, ".env"), DOTENV);
    await mkdir(join(dir, "config"));
    await writeFile(
      join(dir, "config/restore-watch.yaml"),
      'jobs: [{ groupId: "32b6e34b3d91647abb20e7b8", clusterName: c, restoreId: "6a793f81d2c4a03c5e4b1f20" }]\n',
    );
    const env: NodeJS.ProcessEnv = { RESTORE_WATCH_API: "flex", LOG_LEVEL: "" };
    const result = loadDotenv({ cwd: dir, env });
    expect(result).toEqual({
      path: join(dir, ".env"),
      found: true,
      loaded: [
        "MONGODB_ATLAS_CLIENT_ID",
        "MONGODB_ATLAS_CLIENT_SECRET",
        "LOG_LEVEL",
        "RESTORE_WATCH_CONCURRENCY",
      ],
    });
    expect(env).toEqual({
      RESTORE_WATCH_API: "flex",
      LOG_LEVEL: "debug",
      MONGODB_ATLAS_CLIENT_ID: "mdb_sa_id_dotenv",
      MONGODB_ATLAS_CLIENT_SECRET: "dotenv secret",
      RESTORE_WATCH_CONCURRENCY: "2",
    });
    const settings = await loadSettings({ cwd: dir, env });
    expect([settings.api, settings.logLevel, settings.concurrency, settings.credentials]).toEqual([
      "flex",
      "debug",
      2,
      { kind: "serviceAccount", clientId: "mdb_sa_id_dotenv", clientSecret: "dotenv secret" },
    ]);
  });

  it("is fine without a .env file and leaves the environment alone", async () => {
    const dir = await tempDir();
    const env: NodeJS.ProcessEnv = { A: "1" };
    expect(loadDotenv({ cwd: dir, env })).toEqual({
      path: join(dir, ".env"),
      found: false,
      loaded: [],
    });
    expect(env).toEqual({ A: "1" });
  });

  it("reports an unreadable .env as a ConfigError naming its path", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, ".env"));
    let caught: unknown;
    try {
      loadDotenv({ cwd: dir, env: {} });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems.map(formatProblem)).toEqual([
      `${join(dir, ".env")}: .env file is a directory`,
    ]);
  });

  it("reads through the injected readFile", () => {
    const env: NodeJS.ProcessEnv = {};
    const seen: string[] = [];
    const result = loadDotenv({
      cwd: "/srv/watch",
      env,
      readFile: (path) => {
        seen.push(path);
        return "X=1\nY=two words\n";
      },
    });
    expect([seen, result.loaded, env]).toEqual([
      ["/srv/watch/.env"],
      ["X", "Y"],
      { X: "1", Y: "two words" },
    ]);
  });
});
