/** The effective settings as `--check-config` prints them: file notation, secrets redacted. */
import { formatCalendarDate } from "./calendar-date.js";
import { formatDuration } from "./duration.js";
import { formatListenAddress } from "./listen-address.js";
import type { Credentials, Settings } from "./settings.js";

/** What replaces a secret in printed settings. */
export const REDACTED = "<redacted>";

/**
 * The settings in the configuration file's notation (dates, durations, `host:port`), each job
 * with its effective API mode, each watch entry as written. The client secret and private key are replaced by `<redacted>`;
 * the client id and public key are shown, as they identify the account without granting access.
 */
export function describeSettings(settings: Settings): Record<string, unknown> {
  return {
    configFile: settings.configFile ?? null,
    schedule: settings.schedule,
    api: settings.api,
    tenantSunset: formatCalendarDate(settings.tenantSunset),
    listen: formatListenAddress(settings.listen),
    stateFile: settings.stateFile,
    concurrency: settings.concurrency,
    finishedRetention: formatDuration(settings.finishedRetentionMs),
    logLevel: settings.logLevel,
    baseUrl: settings.baseUrl,
    ...(settings.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    ...(settings.healthStaleAfterMs !== undefined
      ? { healthStaleAfter: formatDuration(settings.healthStaleAfterMs) }
      : {}),
    timeouts: {
      connect: formatDuration(settings.timeouts.connectMs),
      headers: formatDuration(settings.timeouts.headersMs),
      body: formatDuration(settings.timeouts.bodyMs),
    },
    credentials: describeCredentials(settings.credentials),
    jobs: settings.jobs.map((job) => ({
      groupId: job.groupId,
      clusterName: job.clusterName,
      restoreId: job.restoreId,
      api: job.api ?? settings.api,
    })),
    watch: settings.watch.map((entry) =>
      entry.kind === "organization"
        ? { orgId: entry.orgId }
        : entry.kind === "project"
          ? { groupId: entry.groupId }
          : { groupId: entry.groupId, clusterName: entry.clusterName },
    ),
    discoveryInterval: formatDuration(settings.discoveryIntervalMs),
    enableLifecycle: settings.enableLifecycle,
  };
}

function describeCredentials(credentials: Credentials): Record<string, string> {
  return credentials.kind === "serviceAccount"
    ? { kind: credentials.kind, clientId: credentials.clientId, clientSecret: REDACTED }
    : { kind: credentials.kind, publicKey: credentials.publicKey, privateKey: REDACTED };
}
