/**
 * Atlas credentials, read only from the environment: a service account or an API key, each
 * variable optionally as `NAME_FILE` (a path to a file holding the value, for container secrets).
 */
import { resolve } from "node:path";
import type { ConfigProblem } from "./config-error.js";
import { describeReadError } from "./problem-text.js";
import type { Credentials } from "./settings.js";

/** The variables of a service account (OAuth 2.0 client credentials). */
export const SERVICE_ACCOUNT_VARIABLES = [
  "MONGODB_ATLAS_CLIENT_ID",
  "MONGODB_ATLAS_CLIENT_SECRET",
] as const;

/** The variables of an API key (HTTP Digest). */
export const API_KEY_VARIABLES = [
  "MONGODB_ATLAS_PUBLIC_API_KEY",
  "MONGODB_ATLAS_PRIVATE_API_KEY",
] as const;

/** What reading one credential variable gave. */
interface Variable {
  /** The variable that supplied it (`NAME` or `NAME_FILE`), when either is set. */
  readonly setBy: string | undefined;
  /** The value, when it could be read. */
  readonly value: string | undefined;
  /** Why it could not be read. */
  readonly problem?: ConfigProblem;
}

/** What `readCredentials` needs. */
export interface ReadCredentialsOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Base for relative `_FILE` paths. */
  readonly cwd: string;
  readonly readFile: (path: string) => Promise<string>;
}

/** The credentials, or the problems that prevent them (credentials are never quoted). */
export interface CredentialsResult {
  readonly credentials: Credentials | undefined;
  readonly problems: readonly ConfigProblem[];
}

/** Reads the credentials from the environment and reports every problem with them. */
export async function readCredentials(options: ReadCredentialsOptions): Promise<CredentialsResult> {
  // Read concurrently, reported in variable order whatever finishes first.
  const variables = await Promise.all(
    [...SERVICE_ACCOUNT_VARIABLES, ...API_KEY_VARIABLES].map((name) => readVariable(name, options)),
  );
  const problems: ConfigProblem[] = variables.flatMap((variable) =>
    variable.problem === undefined ? [] : [variable.problem],
  );
  const [clientId, clientSecret, publicKey, privateKey] = variables;
  const serviceAccount = [clientId, clientSecret] as const;
  const apiKey = [publicKey, privateKey] as const;
  const setBy = (pair: readonly (Variable | undefined)[]): string[] =>
    pair.flatMap((variable) => (variable?.setBy === undefined ? [] : [variable.setBy]));
  const serviceAccountSet = setBy(serviceAccount);
  const apiKeySet = setBy(apiKey);

  if (serviceAccountSet.length === 0 && apiKeySet.length === 0) {
    problems.push({
      key: "credentials",
      message:
        "none set; set MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET (service account) " +
        "or MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY (API key), " +
        "each also accepted as NAME_FILE",
    });
  } else if (serviceAccountSet.length > 0 && apiKeySet.length > 0) {
    problems.push({
      key: "credentials",
      message:
        `both a service account (${serviceAccountSet.join(", ")}) and an API key ` +
        `(${apiKeySet.join(", ")}) are set; set only one of the two pairs`,
    });
  } else if (serviceAccountSet.length > 0) {
    checkPair(SERVICE_ACCOUNT_VARIABLES, serviceAccount, "a service account", problems);
  } else {
    checkPair(API_KEY_VARIABLES, apiKey, "an API key", problems);
  }
  if (problems.length > 0) return { credentials: undefined, problems };

  if (clientId?.value !== undefined && clientSecret?.value !== undefined) {
    return {
      credentials: {
        kind: "serviceAccount",
        clientId: clientId.value,
        clientSecret: clientSecret.value,
      },
      problems,
    };
  }
  if (publicKey?.value !== undefined && privateKey?.value !== undefined) {
    return {
      credentials: { kind: "apiKey", publicKey: publicKey.value, privateKey: privateKey.value },
      problems,
    };
  }
  // Unreachable: a pair with both variables set and no problem has both values.
  return { credentials: undefined, problems };
}

function checkPair(
  names: readonly [string, string],
  pair: readonly [Variable | undefined, Variable | undefined],
  what: string,
  problems: ConfigProblem[],
): void {
  const [first, second] = pair;
  if (first?.setBy === undefined && second?.setBy !== undefined) {
    problems.push(halfPair(names[0], second.setBy, what));
  } else if (second?.setBy === undefined && first?.setBy !== undefined) {
    problems.push(halfPair(names[1], first.setBy, what));
  }
}

function halfPair(missing: string, present: string, what: string): ConfigProblem {
  return {
    key: missing,
    message: `not set, but ${present} is; ${what} needs both (either may be given as NAME_FILE)`,
  };
}

async function readVariable(name: string, options: ReadCredentialsOptions): Promise<Variable> {
  const fileName = `${name}_FILE`;
  const direct = nonEmpty(options.env[name]);
  const file = nonEmpty(options.env[fileName]);
  if (direct !== undefined && file !== undefined) {
    const message = `set together with ${fileName}; set only one of them`;
    return { setBy: name, value: undefined, problem: { key: name, message } };
  }
  if (direct !== undefined) return { setBy: name, value: direct };
  if (file === undefined) return { setBy: undefined, value: undefined };

  const path = resolve(options.cwd, file);
  let content: string;
  try {
    content = await options.readFile(path);
  } catch (error) {
    const message = `file ${JSON.stringify(path)} ${describeReadError(error)}`;
    return { setBy: fileName, value: undefined, problem: { key: fileName, message } };
  }
  // Secrets files usually end with a newline that is not part of the value.
  const value = content.replace(/[\r\n]+$/, "");
  if (value === "") {
    const message = `file ${JSON.stringify(path)} is empty`;
    return { setBy: fileName, value: undefined, problem: { key: fileName, message } };
  }
  return { setBy: fileName, value };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
