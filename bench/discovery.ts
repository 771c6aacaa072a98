/**
 * The discovery case alone (bench/discovery-case.ts): prints its table on stdout, progress on
 * stderr. Exit code 0 when the run worked, 2 when it did not, 64 for a bad flag.
 *
 * Run after `npm run build`: `tsx bench/discovery.ts [--cycles N]` (steady cycles, default 5).
 */
import { parseArgs } from "node:util";
import { runDiscovery } from "./discovery-case.js";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { cycles: { type: "string", default: "5" } } });
  const cycles = Number(values.cycles);
  if (!Number.isInteger(cycles) || cycles < 1) {
    process.stderr.write(`--cycles: "${values.cycles}" is not a positive integer\n`);
    return 64;
  }
  try {
    const { report, ok } = await runDiscovery(cycles);
    process.stdout.write(`${report}\n`);
    return ok ? 0 : 2;
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
}

process.exitCode = await main();
