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
 *
 * The job families' pieces are even kept compressed only (see DeflatedPiece): the text of 10,000
 * jobs, kept between scrapes, would hold 19 MB for the whole life of the process. A scraper that
 * does not accept gzip gets them inflated one at a time as the connection takes them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, crc32, deflateRawSync, inflateRawSync } from "node:zlib";

/** A gzip header: deflate, no name, no time, unknown OS (RFC 1952, section 2.3). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** A final, empty deflate block with fixed codes (RFC 1951, section 3.2.6). */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** Raw deflate, ended by a sync flush, at the fastest level (see GzipPieces). */
function deflatePiece(text: Buffer): Buffer {
  // The fastest level: a fraction of the default's time for a body some 15% larger.
  const output = deflateRawSync(text, {
    level: constants.Z_BEST_SPEED,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
  // A small output is a view of zlib's 16 kB output buffer: kept as it is, it would hold all of
  // it, some 4 MB over 280 pieces.
  const deflated = Buffer.allocUnsafeSlow(output.length);
  output.copy(deflated);
  return deflated;
}

/**
 * A piece of the exposition kept only compressed, as GzipPieces joins it into a gzip member, with
 * the length and CRC-32 of its text: a gzip answer uses it as it is, a plain one inflates it.
 */
export class DeflatedPiece {
  /** The text's length in bytes. */
  readonly length: number;
  /** The text's CRC-32. */
  readonly crc: number;
  readonly deflated: Buffer;

  constructor(text: Buffer) {
    this.length = text.length;
    this.crc = crc32(text);
    this.deflated = deflatePiece(text);
  }

  /** The text, inflated again. */
  text(): Buffer {
    // In one buffer of the text's size, not in zlib's 16 kB chunks joined after.
    return inflateRawSync(this.deflated, {
      finishFlush: constants.Z_SYNC_FLUSH,
      chunkSize: Math.max(constants.Z_MIN_CHUNK, this.length + 1),
    });
  }
}

/** A piece of the exposition: its text, or its text kept compressed. */
export type ExpositionPiece = Buffer | DeflatedPiece;

/** The text of pieces, joined. */
export function expositionText(pieces: readonly ExpositionPiece[]): Buffer {
  return Buffer.concat(
    pieces.map((piece) => (piece instanceof DeflatedPiece ? piece.text() : piece)),
  );
}

/** The CRC-32 operator that appends `2^n` zero bits, for n = 0.., as zlib's crc32_combine makes them. */
const ZEROS_OPERATORS: readonly Uint32Array[] = (() => {
  const operators: Uint32Array[] = [];
  // One zero bit: the reflected polynomial, then a shift.
  let operator = new Uint32Array(32);
  operator[0] = 0xedb88320;
  for (let n = 1; n < 32; n++) operator[n] = 1 << (n - 1);
  for (let n = 0; n < 64; n++) {
    operators.push(operator);
    const square = new Uint32Array(32);
    for (let row = 0; row < 32; row++)
      square[row] = applyOperator(operator, operator[row] as number);
    operator = square;
  }
  return operators;
})();

function applyOperator(operator: Uint32Array, vector: number): number {
  let sum = 0;
  for (let row = 0; vector !== 0; row++, vector >>>= 1) {
    if (vector & 1) sum ^= operator[row] as number;
  }
  return sum >>> 0;
}

/** The CRC-32 of A then B from those of A and B and B's length in bytes (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  let crc = crcA;
  // B's length in bits, applied as a product of the operators of its binary digits.
  let bits = lengthB * 8;
  for (let n = 0; bits > 0; n++, bits = Math.floor(bits / 2)) {
    if (bits % 2 === 1) crc = applyOperator(ZEROS_OPERATORS[n] as Uint32Array, crc);
  }
  return (crc ^ crcB) >>> 0;
}

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
  gzip(pieces: readonly ExpositionPiece[]): Buffer[] {
    let crc = 0;
    let length = 0;
    const deflated = pieces.map((piece) => {
      if (piece instanceof DeflatedPiece) {
        crc = crc32Combine(crc, piece.crc, piece.length);
        length += piece.length;
        return piece.deflated;
      }
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
      deflated = deflatePiece(piece);
      this.#deflated.set(piece, deflated);
    }
    return deflated;
  }
}

/**
 * How much inflated text a plain answer lets wait for the connection: more would only hold memory,
 * less would wait on the connection more often.
 */
const IN_FLIGHT_BYTES = 2 * 1024 * 1024;

/**
 * Answers 200 with the exposition, gzip-compressed by `compressor` when the request accepts it.
 * Plain, the compressed pieces are inflated one after the other, and wait for the connection
 * to take what it was given once that reaches IN_FLIGHT_BYTES, so that their text is never all
 * in memory at once.
 */
export async function sendExposition(
  req: IncomingMessage,
  res: ServerResponse,
  pieces: readonly ExpositionPiece[],
  contentType: string,
  compressor: GzipPieces,
): Promise<void> {
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
  // Pieces go out in one write (writev) each IN_FLIGHT_BYTES or so, not one per piece.
  res.cork();
  for (const piece of body) {
    if (!(piece instanceof DeflatedPiece)) {
      res.write(piece);
      continue;
    }
    if (res.writableLength >= IN_FLIGHT_BYTES) {
      res.uncork();
      if (res.writableNeedDrain && !res.destroyed) await drained(res);
      if (res.destroyed) return;
      res.cork();
    }
    const text = piece.text();
    res.write(text, () => release(text));
  }
  res.end();
}

/**
 * Frees the memory of an inflated piece once written. It would otherwise stay allocated until the
 * garbage collector finds its buffer, which a scrape's few small objects seldom make it look for:
 * the 19 MB of text of 10,000 jobs would be allocated by the end of each plain scrape.
 */
function release(text: Buffer): void {
  // Only a buffer that owns its memory (not a slice of Node's shared pool): zlib's output, in
  // one chunk one byte longer than the text.
  const { buffer } = text;
  if (
    buffer instanceof ArrayBuffer &&
    text.byteOffset === 0 &&
    buffer.byteLength <= text.length + 1
  ) {
    // ArrayBuffer.prototype.transfer (ES2024, in Node.js since 21) detaches it and frees its memory.
    (buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
  }
}

/** Resolves once `res` drained or closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
