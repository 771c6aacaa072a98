/**
 * Replays the Dockerfile's final stage outside Docker: the stage's instructions, in order, on a
 * plain directory that stands for its WORKDIR. What the image would hold, the directory holds;
 * what only a container has (users, labels, ports) is recorded and left to dockerfile.test.ts.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, readdir, stat } from "node:fs/promises";
import { basename, dirname, join, posix, relative } from "node:path";
import { promisify } from "node:util";
import {
  argsOf,
  execForm,
  isInContext,
  parseCopy,
  parseEnv,
  readDockerignore,
  readStages,
  type Stage,
} from "./dockerfile.js";

const execFileAsync = promisify(execFile);

/** The final stage, replayed into a directory. */
export interface ReplayedStage {
  /** The directory standing for WORKDIR. */
  readonly dir: string;
  /** WORKDIR in the image. */
  readonly workdir: string;
  /** The Node.js major of the stage's `node:X.Y.Z-…` base image. */
  readonly nodeMajor: string;
  /** The stage's ENV, which the container's processes get. */
  readonly env: Readonly<Record<string, string>>;
  /** CMD in exec form. */
  readonly cmd: readonly string[];
  /** VOLUME paths, as directories of the copy. */
  readonly volumes: readonly string[];
  /** Shell commands of RUN that were run, as run. */
  readonly ran: readonly string[];
  /** Shell commands of RUN that were not, with why. */
  readonly skipped: readonly string[];
}

/** Every file under `dir`, as slash-separated paths relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split("\\").join("/"))
    .sort();
}

/** Copies `from` (a file, or a directory's contents) to `to`, keeping what `keep` accepts. */
async function copyTree(from: string, to: string, keep: (rel: string) => boolean): Promise<void> {
  if (!(await stat(from)).isDirectory()) {
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
    return;
  }
  for (const rel of await listFiles(from)) {
    if (!keep(rel)) continue;
    await mkdir(dirname(join(to, rel)), { recursive: true });
    await copyFile(join(from, rel), join(to, rel));
  }
}

/**
 * Runs the final stage of `root`'s Dockerfile into `into`: COPY from the build context (filtered
 * by .dockerignore) or from the build stage (the repository's own `npm run build` output, which
 * `npm test` makes first), RUN's npm ci and mkdir, ENV, WORKDIR, VOLUME and CMD.
 */
export async function replayRuntimeStage(root: string, into: string): Promise<ReplayedStage> {
  const stages = await readStages(root);
  const final = stages.at(-1);
  if (!final || stages.length < 2) throw new Error("the Dockerfile has no separate runtime stage");
  const ignore = await readDockerignore(root);
  let workdir: string | undefined;
  const env: Record<string, string> = {};
  let cmd: string[] | undefined;
  const volumes: string[] = [];
  const ran: string[] = [];
  const skipped: string[] = [];

  /** A path of the image, under WORKDIR, as a path of the copy. */
  const local = (imagePath: string): string => {
    if (workdir === undefined) throw new Error(`${imagePath} before WORKDIR`);
    const rel = posix.relative(workdir, posix.resolve(workdir, imagePath));
    if (rel.startsWith("..") || posix.isAbsolute(rel)) {
      throw new Error(`${imagePath} is outside WORKDIR ${workdir}: the copy cannot hold it`);
    }
    return join(into, rel);
  };

  /** A path of a build stage, mapped to the repository: that stage built it there. */
  const built = (stage: Stage, imagePath: string): string => {
    const stageWorkdir = argsOf(stage, "WORKDIR").at(-1);
    if (!argsOf(stage, "RUN").includes("npm run build") || stageWorkdir === undefined) {
      throw new Error(`COPY --from=${stage.name}: that stage does not run npm run build`);
    }
    const rel = posix.relative(stageWorkdir, imagePath);
    if (rel.startsWith("..") || posix.isAbsolute(rel)) throw new Error(`${imagePath}: not built`);
    return join(root, rel);
  };

  const run = async (command: string): Promise<void> => {
    const words = command.split(/\s+/);
    if (!words.every((word) => /^[\w.:=/@-]+$/.test(word))) {
      throw new Error(`RUN ${command}: quoting or expansion is not understood`);
    }
    if (command.startsWith("npm ci ")) {
      // The image downloads; here the cache of the repository's own `npm ci` answers.
      const args = [...words.slice(1), "--prefer-offline"];
      await execFileAsync("npm", args, {
        cwd: local("."),
        env: { ...process.env, ...env },
        timeout: 100_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      ran.push(["npm", ...args].join(" "));
    } else if (command.startsWith("npm cache clean ")) {
      skipped.push(`${command}: image size only, and would empty this machine's npm cache`);
    } else if (command.startsWith("mkdir -p ")) {
      for (const path of words.slice(2)) await mkdir(local(path), { recursive: true });
      ran.push(command);
    } else if (command.startsWith("chown ")) {
      skipped.push(`${command}: needs root; the copy belongs to whoever runs the test`);
    } else {
      throw new Error(`RUN ${command}: not understood; teach runtime-stage-replay.ts`);
    }
  };

  const nodeMajor = /^node:(\d+)\./.exec(final.instructions[0]?.args ?? "")?.[1];
  if (nodeMajor === undefined) throw new Error("the runtime stage is not FROM node:X.Y.Z-…");

  for (const { keyword, args } of final.instructions) {
    switch (keyword) {
      case "FROM":
      case "ARG":
      case "LABEL":
      case "USER":
      case "EXPOSE":
      case "STOPSIGNAL":
      case "HEALTHCHECK":
        break; // container metadata: no file of the image changes
      case "WORKDIR":
        workdir = posix.resolve(workdir ?? "/", args);
        await mkdir(into, { recursive: true });
        break;
      case "ENV":
        Object.assign(env, parseEnv(args));
        break;
      case "COPY": {
        const copy = parseCopy(args);
        const toDirectory = copy.destination.endsWith("/") || copy.sources.length > 1;
        for (const source of copy.sources) {
          const target = toDirectory
            ? join(local(copy.destination), basename(source))
            : local(copy.destination);
          if (copy.from === undefined) {
            if (!isInContext(ignore, source)) throw new Error(`COPY ${source}: not in the context`);
            await copyTree(join(root, source), target, (rel) =>
              isInContext(ignore, posix.join(source, rel)),
            );
          } else {
            const stage = stages.find((s) => s.name === copy.from);
            if (!stage) throw new Error(`COPY --from=${copy.from}: no such stage`);
            await copyTree(built(stage, source), target, () => true);
          }
        }
        break;
      }
      case "RUN":
        for (const command of args.split(/\s*&&\s*/)) await run(command);
        break;
      case "VOLUME":
        for (const path of args.split(/\s+/)) {
          await mkdir(local(path), { recursive: true });
          volumes.push(local(path));
        }
        break;
      case "CMD":
        cmd = execForm(args);
        break;
      default:
        throw new Error(`${keyword} ${args}: not understood; teach runtime-stage-replay.ts`);
    }
  }
  if (workdir === undefined || cmd === undefined) throw new Error("no WORKDIR or no CMD");
  return { dir: local("."), workdir, nodeMajor, env, cmd, volumes, ran, skipped };
}
