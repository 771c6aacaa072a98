/**
 * The status page in a real browser: Debian's chromium loads it from the built daemon, which
 * polls the simulator, and the test reads what a person sees. A second daemon is fed hostile
 * text from Atlas and the test proves that no script runs.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSim, API_KEY, GROUP, id, waitFor } from "../support/fixtures.js";
import { spawnDaemon, writeConfig, type DaemonProcess } from "../support/daemon-process.js";
import type { Simulator } from "../../src/simulator/index.js";
import { launchChromium, type Browser } from "./chromium.js";

/** Where the screenshots go: the tests' output, ignored by git. */
const OUTPUT = fileURLToPath(new URL("../../test-output/browser/", import.meta.url));

const FAILED = id(41); // RUNNING, then FAILED once the test advances the simulator
const RUNNING = id(42);
const COMPLETED = id(43); // Flex: RUNNING, then COMPLETED
const MISSING = id(44); // every poll answered 404 CLUSTER_NOT_FOUND
/** Text Atlas might send: as a status, and as the detail of an error answer. */
const HOSTILE_STATUS = `<img src=x onerror="window.__pwned='status'">`;
const HOSTILE_DETAIL = `<script>window.__pwned='detail'</script><img src=x onerror="alert('detail')">`;

interface Running {
  sim: Simulator;
  daemon: DaemonProcess;
  base: string;
  dir: string;
}

async function startDaemon(
  sim: Simulator,
  jobs: Record<string, unknown>[],
  api: "tenant" | "auto",
): Promise<Running> {
  const { dir, file } = await writeConfig({
    schedule: "* * * * * *",
    api,
    tenantSunset: "2099-01-01",
    listen: "127.0.0.1:0",
    baseUrl: sim.url,
    jobs,
  });
  const daemon = spawnDaemon(["--config", file], {
    MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
    MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
    RESTORE_WATCH_STATE_FILE: join(dir, "state.json"),
  });
  return { sim, daemon, base: `http://127.0.0.1:${await daemon.port()}`, dir };
}

async function stop(running: Running | undefined): Promise<void> {
  if (!running) return;
  running.daemon.child.kill("SIGTERM");
  expect(await running.daemon.exited, running.daemon.stderr()).toBe(0);
  await running.sim.close();
  await rm(running.dir, { recursive: true, force: true });
}

/** What a person sees on the status page, read in one go (see `readPage`). */
interface Seen {
  readonly title: string;
  /** Each job row: its cells' visible text, and the status badge's painted colour. */
  readonly rows: readonly { readonly cells: readonly string[]; readonly badge: string }[];
  readonly transitions: readonly string[];
  readonly watched: string;
  readonly reload: string;
  /** Set only if a script planted by hostile text ran. */
  readonly pwned: string;
  /** Elements that hostile text could have made. */
  readonly planted: number;
}

/**
 * Reads the page in one evaluation, a single task in the page, so that its own reload every
 * few seconds cannot fall between two reads; a read that meets a reload is tried again.
 */
const READ = `(() => {
  const text = (element) => (element ? element.innerText.trim() : "");
  return {
    title: document.title,
    rows: [...document.querySelectorAll("#jobs tbody tr")].map((row) => ({
      cells: [...row.querySelectorAll("td")].map(text),
      badge: getComputedStyle(row.querySelector(".status")).backgroundColor,
    })),
    transitions: [...document.querySelectorAll("#transitions li")].map(text),
    watched: text(document.querySelector("#watched")),
    reload: text(document.querySelector("#reload")),
    pwned: typeof window.__pwned,
    planted: document.querySelectorAll("script, img, [onerror]").length,
  };
})()`;

/** What the page shows once `accept` takes it, read until then (or 20 s). */
function readPage(page: Page, accept: (seen: Seen) => boolean = () => true): Promise<Seen> {
  return waitFor(
    async () => {
      try {
        const seen = (await page.evaluate(READ)) as Seen;
        return accept(seen) ? seen : undefined;
      } catch {
        return undefined; // the page was reloading
      }
    },
    "the status page",
    20_000,
  );
}

/** A row as text: its cells joined by " | ". */
function rowText(seen: Seen, restoreId: string): string {
  const row = seen.rows.find((r) => r.cells[1] === restoreId);
  return row ? row.cells.join(" | ") : `no row for ${restoreId}`;
}

/** The painted background of a row's status badge. */
function badge(seen: Seen, restoreId: string): string | undefined {
  return seen.rows.find((r) => r.cells[1] === restoreId)?.badge;
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
  await mkdir(OUTPUT, { recursive: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

describe("the status page, as a person sees it", () => {
  let world: Running | undefined;
  beforeAll(async () => {
    const sim = await startSim({
      clusters: [
        { groupId: GROUP, name: "Cluster0", kind: "tenant" },
        { groupId: GROUP, name: "Flex0", kind: "flex" },
      ],
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: FAILED,
          script: [
            { afterSeconds: 0, status: "RUNNING" },
            { afterSeconds: 10, status: "FAILED" },
          ],
        },
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: RUNNING,
          script: [{ afterSeconds: 0, status: "RUNNING" }],
        },
        {
          groupId: GROUP,
          clusterName: "Flex0",
          id: COMPLETED,
          script: [
            { afterSeconds: 0, status: "RUNNING" },
            { afterSeconds: 10, status: "COMPLETED" },
          ],
        },
      ],
      faults: [{ kind: "not_found", match: { restoreId: MISSING } }],
    });
    world = await startDaemon(
      sim,
      [
        { groupId: GROUP, clusterName: "Cluster1", restoreId: MISSING },
        { groupId: GROUP, clusterName: "Cluster0", restoreId: FAILED },
        { groupId: GROUP, clusterName: "Cluster0", restoreId: RUNNING },
        { groupId: GROUP, clusterName: "Flex0", restoreId: COMPLETED, api: "flex" },
      ],
      "tenant",
    );
  });
  afterAll(() => stop(world));

  it("shows every job, then refreshes itself to show the failure in red, first, and in the transitions", async () => {
    const { daemon, base, sim } = world!;
    for (const restoreId of [FAILED, RUNNING, COMPLETED]) {
      await daemon.waitForLine(
        (l) => l.event === "restore_transition" && l.restoreId === restoreId,
        `the first sighting of ${restoreId}`,
      );
    }
    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    const before = await readPage(page);
    expect(before.title).toBe("atlas-restore-watch");
    expect(rowText(before, FAILED)).toMatch(
      new RegExp(`^Cluster0\\nproject ${GROUP} \\| ${FAILED} \\| tenant \\| RUNNING \\|`),
    );

    // The page reloads itself: no navigation from here on.
    sim.advance(10);
    // A cycle under way may see one job before the advance and the other after it.
    await daemon.waitForLine((l) => l.to === "FAILED", "the FAILED transition");
    await daemon.waitForLine((l) => l.to === "COMPLETED", "the COMPLETED transition");
    const seen = await readPage(
      page,
      (s) => s.title === "atlas-restore-watch (1 failed)" && s.transitions.length === 5,
    );

    expect(seen.rows.map((row) => row.cells[1])).toEqual([FAILED, RUNNING, MISSING, COMPLETED]);
    expect(rowText(seen, MISSING)).toBe(
      `Cluster1\nproject ${GROUP} | ${MISSING} | tenant | not seen yet |  |  | never | ` +
        "http_404_CLUSTER_NOT_FOUND HTTP 404 CLUSTER_NOT_FOUND: No cluster with this name exists.",
    );
    expect(rowText(seen, FAILED)).toMatch(
      new RegExp(
        `^Cluster0\\nproject ${GROUP} \\| ${FAILED} \\| tenant \\| FAILED \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\| \\d+ s ago \\| $`,
      ),
    );
    expect(badge(seen, FAILED)).toBe("rgb(198, 40, 40)");
    expect(badge(seen, RUNNING)).toBe("rgb(21, 101, 192)");

    const transitions = seen.transitions.map((t) => t.replace(/^\d+ s ago /, ""));
    expect(transitions.slice(0, 2).sort()).toEqual(
      [
        `Flex0 ${COMPLETED} (flex): RUNNING → COMPLETED`,
        `Cluster0 ${FAILED} (tenant): RUNNING → FAILED`,
      ].sort(),
    );
    expect(transitions.slice(2).sort()).toEqual(
      [
        `Cluster0 ${FAILED} (tenant): first seen → RUNNING`,
        `Cluster0 ${RUNNING} (tenant): first seen → RUNNING`,
        `Flex0 ${COMPLETED} (flex): first seen → RUNNING`,
      ].sort(),
    );
    expect(seen.watched).toBe("Watched\n\nnothing watched by discovery");
    expect(seen.reload).toMatch(
      /^Configuration\n\nLast load \d+ s ago \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\): applied$/,
    );

    // The links lead where they say.
    await page.locator("nav a", { hasText: "/readyz" }).click();
    expect((await page.locator("body").innerText()).trim()).toBe("ready");
    await page.goBack();
    await page.locator(".filters a", { hasText: "FAILED (1)" }).click();
    expect(new URL(page.url()).search).toBe("?status=FAILED");
    expect((await readPage(page)).rows.map((row) => row.cells[1])).toEqual([FAILED]);
    await page.goBack();
    await page.screenshot({ path: join(OUTPUT, "status-page.png"), fullPage: true });
    await page.close();
  }, 60_000);
});

describe("hostile text from Atlas", () => {
  let world: Running | undefined;
  beforeAll(async () => {
    const sim = await startSim({
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: id(51),
          script: [{ afterSeconds: 0, status: HOSTILE_STATUS }],
        },
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: id(52),
          script: [{ afterSeconds: 0, status: "RUNNING" }],
        },
      ],
      faults: [{ kind: "not_found", match: { restoreId: id(52) }, detail: HOSTILE_DETAIL }],
    });
    world = await startDaemon(
      sim,
      [
        { groupId: GROUP, clusterName: "Cluster0", restoreId: id(51) },
        { groupId: GROUP, clusterName: "Cluster0", restoreId: id(52) },
      ],
      "tenant",
    );
  });
  afterAll(() => stop(world));

  it("renders it as text: no script runs, no element is made from it", async () => {
    const { daemon, base } = world!;
    await daemon.waitForLine(
      (l) => l.event === "restore_poll_error" && l.restoreId === id(52),
      "the hostile error",
    );
    await daemon.waitForLine(
      (l) => l.event === "restore_transition" && l.restoreId === id(51),
      "the hostile status",
    );
    const page = await browser.context.newPage();
    const dialogs: string[] = [];
    const messages: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on("console", (message) => messages.push(`${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => messages.push(`pageerror: ${error.message}`));
    await page.goto(`${base}/`);
    const seen = await readPage(page);
    expect(rowText(seen, id(51))).toContain(`| ${HOSTILE_STATUS} |`);
    expect(rowText(seen, id(52))).toContain(
      `http_404_CLUSTER_NOT_FOUND HTTP 404 CLUSTER_NOT_FOUND: ${HOSTILE_DETAIL}`,
    );
    expect(seen.pwned).toBe("undefined");
    expect(seen.planted).toBe(0);
    expect(dialogs).toEqual([]);
    // Escaping failed would show as a Content-Security-Policy refusal here.
    expect(messages).toEqual([]);
    await page.screenshot({ path: join(OUTPUT, "hostile.png"), fullPage: true });
    await page.close();
  }, 60_000);
});
