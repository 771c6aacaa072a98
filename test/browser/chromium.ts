/**
 * Debian's chromium, headless, driven by playwright-core: no browser download, a fresh profile
 * per launch, nothing that reaches beyond 127.0.0.1. A missing browser fails the test, naming the
 * package to install.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Flags that keep the browser quiet and local: no sandbox (root in CI), no background traffic. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running browser and its profile; `close` removes both. */
export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Starts headless chromium with a fresh profile directory. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium); ` +
        "these tests need the real browser and do not skip",
    );
  }
  const profile = await mkdtemp(join(tmpdir(), "restore-watch-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
