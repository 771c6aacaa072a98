/**
 * Refuses to start on a Node.js older than the one the project is built and tested on, with one
 * clear line instead of a failure deep inside a dependency. Imported first by main, so it runs
 * before any dependency's module code.
 */
const SUPPORTED_MAJOR = 24;

const major = Number(process.versions.node.split(".")[0]);
if (major < SUPPORTED_MAJOR) {
  process.stderr.write(
    `atlas-restore-watch: Node.js ${SUPPORTED_MAJOR} or later is required, this is ${process.version}` +
      ` (the README says how to get it: . .ci/use-node)\n`,
  );
  process.exit(78);
}

export {};
