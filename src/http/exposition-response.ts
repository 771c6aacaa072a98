/**
 * The answer to GET /metrics. The exposition comes in pieces (see metrics.ts), written as they
 * are, or gzip-compressed when the scraper accepts it, as Prometheus always does: at 10,000 jobs
 * the text is some 19 MB and compresses to under 1 MB.
 *
 * Compressing all 19 MB at every scrape would cost about as much as the render it replaced, so
 * each piece is compressed once, on its own, and the compressed pieces are joined into one gzip
 * member, as pigz joins its blocks: each is a raw deflate stream ended by a sync flush (an empty
 * stored block: not final, and ending on a byte boundary), so that the next can follow it; a
 * final empty block closes them, and the trailer holds the CRC-32 and length of the whole text.
 * The job families' pieces stay the same objects while their jobs do not change, so only the
 * registry's metrics and the blocks of jobs that changed are compressed again.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, crc32, deflateRawSync } from "node:zlib";

/** A gzip header: deflate, no name, no time, unknown OS (RFC 1952, section 2.3). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** A final, empty deflate block with fixed codes (RFC 1951, section 3.2.6). */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/**
 * Whether an Accept-Encoding header accepts gzip (RFC 9110, section 12.5.3): `gzip` or `x-gzip`
 * listed, or else `*`, with a weight above 0.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  let wildcard = false;
  for (const element of header.split(",")) {
    const [coding = "", ...parameters] = element.split(";").map((part) => part.trim());
    const weight = parameters.find((parameter) => /^q=/i.test(parameter));
    const accepted = weight === undefined || Number(weight.slice(2)) > 0;
    const name = coding.toLowerCase();
    if (name === "gzip" || name === "x-gzip") return accepted;
    if (name === "*") wildcard = accepted;
  }
  return wildcard;
}

/**
 * Compresses pieces and keeps each one's compressed form for as long as the piece lives: pieces
 * are never changed once rendered, so the buffer itself is the key.
 *
 * Pieces are compressed one after the other on the event loop, some 20 ms for all 19 MB of 10,000
 * jobs at the first scrape and a few after a poll cycle: on the thread pool, hundreds of pieces
 * at once each took their own zlib state (256 kB) and the whole ran several times slower.
 */
export class GzipPieces {
  readonly #deflated = new WeakMap<Buffer, Buffer>();

  /** One gzip member holding the pieces, in order, in pieces of its own. */
  gzip(pieces: readonly Buffer[]): Buffer[] {
    let crc = 0;
    let length = 0;
    const deflated = pieces.map((piece) => {
      crc = crc32(piece, crc);
      length += piece.length;
      return this.#deflate(piece);
    });
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc, 0);
    // ISIZE is the length modulo 2^32.
    trailer.writeUInt32LE(length % 2 ** 32, 4);
    return [GZIP_HEADER, ...deflated, FINAL_BLOCK, trailer];
  }

  #deflate(piece: Buffer): Buffer {
    let deflated = this.#deflated.get(piece);
    if (deflated === undefined) {
      // The fastest level: a fraction of the default's time for a body some 15% larger.
      const output = deflateRawSync(piece, {
        level: constants.Z_BEST_SPEED,
        finishFlush: constants.Z_SYNC_FLUSH,
      });
      // A small output is a view of zlib's 16 kB output buffer: kept as it is, it would hold
      // all of it, some 4 MB over 280 pieces.
      deflated = Buffer.allocUnsafeSlow(output.length);
      output.copy(deflated);
      this.#deflated.set(piece, deflated);
    }
    return deflated;
  }
}

/** Answers 200 with the exposition, gzip-compressed by `compressor` when the request accepts it. */
export function sendExposition(
  req: IncomingMessage,
  res: ServerResponse,
  pieces: readonly Buffer[],
  contentType: string,
  compressor: GzipPieces,
): void {
  const gzip = acceptsGzip(req.headers["accept-encoding"]);
  const body = gzip ? compressor.gzip(pieces) : pieces;
  res.writeHead(200, {
    "content-type": contentType,
    "content-length": body.reduce((sum, piece) => sum + piece.length, 0),
    "cache-control": "no-store",
    // The body depends on Accept-Encoding: a cache in between must not mix the two.
    vary: "Accept-Encoding",
    ...(gzip ? { "content-encoding": "gzip" } : {}),
  });
  if (req.method === "HEAD") return void res.end();
  // One write of them all (writev), not one per piece.
  res.cork();
  for (const piece of body) res.write(piece);
  res.end();
}
