/** The project's name and version, read once from package.json (present in dist's parent too). */
import { readFileSync } from "node:fs";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  name: string;
  version: string;
};

/** The package version, e.g. "0.1.0". */
export const VERSION: string = manifest.version;

/** The User-Agent sent to Atlas: names the project, its version and the runtime. */
export const USER_AGENT = `${manifest.name}/${manifest.version} node/${process.versions.node}`;
