/**
 * One request and its answer: sends replies (counting them in the stats), runs delayed work that
 * is cancelled when the client goes away or the simulator closes, and resets connections.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Reply } from "./reply.js";
import type { StatsRecorder } from "./stats.js";

/** The timers of every exchange in flight, so that `close()` can cancel them. */
export type TimerSet = Set<NodeJS.Timeout>;

/** A request being answered. */
export class Exchange {
  private readonly ownTimers = new Set<NodeJS.Timeout>();

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly stats: StatsRecorder,
    private readonly timers: TimerSet,
  ) {
    // A client that gives up mid-answer must not crash the simulator, and its timers must go.
    res.on("error", () => {});
    res.on("close", () => {
      for (const timer of this.ownTimers) {
        clearTimeout(timer);
        this.timers.delete(timer);
      }
      this.ownTimers.clear();
    });
  }

  /** Sends a complete reply. */
  send(reply: Reply): void {
    if (this.res.destroyed) return;
    this.head(reply.status, {
      ...reply.headers,
      "content-length": String(Buffer.byteLength(reply.body)),
    });
    this.res.end(reply.body);
  }

  /** Sends the status line and headers only, counting the status. */
  head(status: number, headers: Readonly<Record<string, string>>): void {
    this.stats.answer(status);
    this.res.writeHead(status, headers);
  }

  /** Destroys the connection without an answer (a TCP reset where the platform allows). */
  reset(): void {
    this.stats.answer("reset");
    this.req.socket.resetAndDestroy();
  }

  /** Runs `work` after `ms`, unless the client leaves or the simulator closes first. */
  later(ms: number, work: () => void): void {
    if (this.res.destroyed) return;
    const timer = setTimeout(() => {
      this.ownTimers.delete(timer);
      this.timers.delete(timer);
      work();
    }, ms);
    this.ownTimers.add(timer);
    this.timers.add(timer);
  }
}
