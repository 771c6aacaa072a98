/** The configuration's public surface, for `main`: load, check, describe, parse the command line. */
export type { ApiMode, Credentials, JobSettings, ListenAddress, Settings } from "./settings.js";
export { ConfigError, formatProblem, type ConfigProblem } from "./config-error.js";
export { loadSettings, type LoadSettingsOptions } from "./load-settings.js";
export { loadDotenv, type DotenvResult, type LoadDotenvOptions } from "./load-dotenv.js";
export { describeSettings, REDACTED } from "./describe-settings.js";
export { parseCliArgs, USAGE, type CliArgs } from "./cli-args.js";
export { DEFAULT_CONFIG_PATH, CONFIG_PATH_VARIABLE } from "./config-file.js";
