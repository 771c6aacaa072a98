/**
 * What a command needs to reach Atlas and nothing more: the base URL and the credentials, read
 * from the environment exactly as the daemon reads them, without a configuration file.
 */
import { readFile as fsReadFile } from "node:fs/promises";
import { DEFAULT_BASE_URL } from "../atlas/endpoints.js";
import { cleartextProblem, parseBaseUrl, redactUrlUserInfo } from "./base-url.js";
import { ConfigError, type ConfigProblem } from "./config-error.js";
import { readCredentials } from "./credentials.js";
import { quoteValue } from "./problem-text.js";
import type { Credentials } from "./settings.js";

/** The variable that overrides the Atlas base URL, for the daemon and `wait` alike. */
export const BASE_URL_VARIABLE = "MONGODB_ATLAS_BASE_URL";

/** Where Atlas is and how to authenticate to it. */
export interface AtlasAccess {
  readonly baseUrl: string;
  readonly credentials: Credentials;
}

/** What `loadAtlasAccess` reads; each IO dependency defaults to the real one. */
export interface LoadAtlasAccessOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Base for relative `_FILE` paths. */
  readonly cwd: string;
  readonly readFile?: (path: string) => Promise<string>;
}

/**
 * Reads MONGODB_ATLAS_BASE_URL (default https://cloud.mongodb.com; `http://` only on a loopback
 * host unless RESTORE_WATCH_ALLOW_INSECURE_HTTP is `true`) and the credentials (a service account
 * or an API key, each variable also as NAME_FILE). Throws a ConfigError listing
 * every problem; a secret is never quoted, and a URL's user info is redacted.
 */
export async function loadAtlasAccess(options: LoadAtlasAccessOptions): Promise<AtlasAccess> {
  const problems: ConfigProblem[] = [];
  const text = options.env[BASE_URL_VARIABLE];
  let baseUrl = DEFAULT_BASE_URL;
  if (text !== undefined && text !== "") {
    const parsed = parseBaseUrl(text);
    const cleartext = parsed.ok ? cleartextProblem(parsed.value) : undefined;
    const allowed = options.env["RESTORE_WATCH_ALLOW_INSECURE_HTTP"] === "true";
    if (parsed.ok && cleartext !== undefined && !allowed) {
      problems.push({
        key: BASE_URL_VARIABLE,
        message: `${quoteValue(parsed.value)} ${cleartext}`,
      });
    } else if (parsed.ok) baseUrl = parsed.value;
    else {
      problems.push({
        key: BASE_URL_VARIABLE,
        message: `${quoteValue(redactUrlUserInfo(text))} ${parsed.reason}`,
      });
    }
  }
  const { credentials, problems: credentialProblems } = await readCredentials({
    env: options.env,
    cwd: options.cwd,
    readFile: options.readFile ?? ((path) => fsReadFile(path, "utf8")),
  });
  problems.push(...credentialProblems);
  if (problems.length > 0 || credentials === undefined) throw new ConfigError(problems);
  return { baseUrl, credentials };
}
