/**
 * Notices the daemon starting to save its state: FileStateStore writes `.<name>.<pid>.tmp` next to
 * the state file, fsyncs it, renames it over the state file, then fsyncs the directory. A kill
 * timed from that moment lands in the few milliseconds where crash safety is decided.
 */
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

/** A watch on one state file's directory. */
export interface SaveWatch {
  /**
   * Resolves when a temporary state file is created after this call; rejects after `timeoutMs`
   * or when the watch is closed first.
   */
  nextSave(timeoutMs: number): Promise<void>;
  close(): void;
}

/** Watches the directory of `stateFile` for the store's temporary files. */
export function watchSaves(stateFile: string): SaveWatch {
  const pattern = new RegExp(`^\\.${escape(basename(stateFile))}\\.\\d+\\.tmp$`);
  const waiters = new Set<{ wake(): void; cancel(): void }>();
  const watcher: FSWatcher = watch(dirname(stateFile), (_event, name) => {
    if (name === null || !pattern.test(String(name))) return;
    for (const waiter of waiters) waiter.wake();
  });
  return {
    nextSave(timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          wake() {
            waiters.delete(waiter);
            clearTimeout(timer);
            resolve();
          },
          cancel() {
            waiters.delete(waiter);
            clearTimeout(timer);
            reject(new Error("the save watch was closed"));
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no state save began within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close() {
      watcher.close();
      for (const waiter of waiters) waiter.cancel();
    },
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
