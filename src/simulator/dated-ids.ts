/**
 * A dedicated restore job's id holds its creation time in its first four bytes, and clients date
 * the job by it. A scenario's ids are fixed, so a run in real time (the demo, the CLI) dates its
 * dedicated ones to the run: the run's start plus the job's createdAfterSeconds, the rest of the
 * id kept. Tests on the manual clock write ids for their own start time and do not need this.
 */
import type { Scenario } from "./scenario.js";

/** The scenario with its dedicated jobs' ids dated to a run that starts at `startTime` (ms). */
export function datedForRun(scenario: Scenario, startTime: number): Scenario {
  const dedicated = new Set(
    scenario.clusters.filter((c) => c.kind === "dedicated").map((c) => `${c.groupId}/${c.name}`),
  );
  const jobs = scenario.jobs.map((job) => {
    if (!dedicated.has(`${job.groupId}/${job.clusterName}`)) return job;
    const created = Math.floor(startTime / 1000) + job.createdAfterSeconds;
    return { ...job, id: `${created.toString(16).padStart(8, "0")}${job.id.slice(8)}` };
  });
  return { ...scenario, jobs };
}
