/**
 * The answer to GET /metrics. The exposition comes in pieces (see metrics.ts), written as they
 * are: at 10,000 jobs it is some 19 MB, and joining it into one string, then encoding that, cost
 * more than rendering it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Answers 200 with the exposition. */
export function sendExposition(
  req: IncomingMessage,
  res: ServerResponse,
  pieces: readonly Buffer[],
  contentType: string,
): void {
  res.writeHead(200, {
    "content-type": contentType,
    "content-length": pieces.reduce((sum, piece) => sum + piece.length, 0),
    "cache-control": "no-store",
  });
  if (req.method === "HEAD") return void res.end();
  // One write of them all (writev), not one per piece.
  res.cork();
  for (const piece of pieces) res.write(piece);
  res.end();
}
