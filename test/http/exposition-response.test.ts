import { crc32, gunzipSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  acceptsGzip,
  crc32Combine,
  DeflatedPiece,
  expositionText,
  GzipPieces,
} from "../../src/http/exposition-response.js";
import { JobExposition } from "../../src/http/job-exposition.js";
import { trackedOf, type JobSnapshot } from "../../src/tracker/job-state.js";

describe("acceptsGzip", () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ["", false],
    ["gzip", true],
    ["GZip", true],
    ["x-gzip", true],
    ["gzip, deflate, br, zstd", true],
    ["deflate, br", false],
    ["identity", false],
    ["br;q=1.0, gzip;q=0.8, *;q=0.1", true],
    ["gzip;q=0", false],
    ["gzip; q=0.000", false],
    ["*", true],
    ["*;q=0", false],
    ["br, *;q=0.5", true],
    ["gzip;q=0, *", false],
  ])("%j: %s", (header, accepted) => {
    expect(acceptsGzip(header)).toBe(accepted);
  });
});

describe("crc32Combine", () => {
  it.each([
    ["", ""],
    ["a", ""],
    ["", "b"],
    ["# HELP a A.\n", 'b{x="é"} 2\n'.repeat(5_000)],
    ["x".repeat(70_000), "y".repeat(131_073)],
  ])("gives the CRC-32 of %#'s two texts joined", (a, b) => {
    const [first, second] = [Buffer.from(a), Buffer.from(b)];
    expect(crc32Combine(crc32(first), crc32(second), second.length)).toBe(
      crc32(Buffer.concat([first, second])),
    );
  });
});

describe("GzipPieces", () => {
  const pieces = [
    Buffer.from("# HELP a A.\n# TYPE a gauge\na 1\n"),
    Buffer.from('b{x="é"} 2\n'.repeat(5_000)),
    Buffer.from(""),
    Buffer.from("c 3\n"),
  ];

  it("joins the pieces into one gzip member of their whole text", () => {
    const gzipped = Buffer.concat(new GzipPieces().gzip(pieces));
    const text = Buffer.concat(pieces);
    // gunzip checks the trailer's CRC-32 and length.
    expect(gunzipSync(gzipped).equals(text)).toBe(true);
    // One member: between the 10-byte header and the 8-byte trailer, one deflate stream.
    expect(inflateRawSync(gzipped.subarray(10, -8)).equals(text)).toBe(true);
    expect(gzipped.length).toBeLessThan(text.length / 10);
  });

  it("joins pieces kept compressed with plain ones", () => {
    const mixed = pieces.map((piece, at) => (at % 2 === 1 ? new DeflatedPiece(piece) : piece));
    const text = Buffer.concat(pieces);
    expect(expositionText(mixed).equals(text)).toBe(true);
    expect(gunzipSync(Buffer.concat(new GzipPieces().gzip(mixed))).equals(text)).toBe(true);
  });

  it("gzips no piece as an empty text", () => {
    expect(gunzipSync(Buffer.concat(new GzipPieces().gzip([]))).length).toBe(0);
  });

  it("compresses a piece once, and a new piece again even with the same bytes", () => {
    const compressor = new GzipPieces();
    const first = compressor.gzip(pieces);
    const second = compressor.gzip(pieces);
    second.slice(1, -2).forEach((piece, at) => expect(piece).toBe(first[at + 1]));
    const copy = Buffer.from(pieces[1] as Buffer);
    expect(compressor.gzip([copy])[1]).not.toBe(first[2]);
  });

  it("follows the job families from scrape to scrape: a new status, a job gone", () => {
    const compressor = new GzipPieces();
    const exposition = new JobExposition();
    const jobs: JobSnapshot[] = Array.from({ length: 600 }, (_, n) => ({
      groupId: "32b6e34b3d91647abb20e7b8",
      clusterName: "Cluster0",
      restoreId: `6a793f81d2c4a03c5e4b${n.toString(16).padStart(4, "0")}`,
      api: "flex",
      status: "RUNNING",
      lastSuccessAt: 1_764_410_470_000,
    }));
    const scrape = () => {
      const pieces = exposition.render(jobs.map(trackedOf));
      const text = gunzipSync(Buffer.concat(compressor.gzip(pieces))).toString();
      expect(text).toBe(expositionText(pieces).toString());
      return text;
    };
    scrape();
    jobs[300] = { ...(jobs[300] as JobSnapshot), status: "FAILED" };
    const [gone] = jobs.splice(500, 1) as [JobSnapshot];
    const text = scrape();
    expect(text).toContain('restore_id="6a793f81d2c4a03c5e4b012c",api="flex",status="FAILED"} 1');
    expect(text).not.toContain(gone.restoreId);
  });
});
