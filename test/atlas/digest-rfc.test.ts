import { describe, expect, it } from "vitest";
import {
  digestResponse,
  formatDigestAuthorization,
  parseDigestAuthorization,
  parseDigestChallenge,
} from "../../src/atlas/digest.js";

// RFC 7616 section 3.9.1: the worked example, for both algorithms.
const example = {
  username: "Mufasa",
  password: "Circle of Life",
  realm: "http-auth@example.org",
  method: "GET",
  uri: "/dir/index.html",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  nc: "00000001",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  qop: "auth" as const,
};

describe("digest response (RFC 7616 3.9.1)", () => {
  it("computes the MD5 response of the worked example", () => {
    expect(digestResponse({ ...example, algorithm: "MD5" })).toBe(
      "8ca523f5e9506fed4657c9700eebdbec",
    );
  });

  it("computes the SHA-256 response of the worked example", () => {
    expect(digestResponse({ ...example, algorithm: "SHA-256" })).toBe(
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    );
  });

  it("parses the example's challenge", () => {
    const header =
      'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
      'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
    expect(parseDigestChallenge(header)).toEqual({
      realm: "http-auth@example.org",
      nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
      opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
      algorithm: "SHA-256",
      qop: ["auth", "auth-int"],
      stale: false,
    });
  });

  it("parses Atlas's challenge and picks Digest among several", () => {
    const atlas =
      'Digest realm="MMS Public API", domain="", nonce="abc+/=", algorithm=MD5, qop="auth", stale=true';
    expect(parseDigestChallenge(['Basic realm="x"', atlas])).toEqual({
      realm: "MMS Public API",
      nonce: "abc+/=",
      algorithm: "MD5",
      qop: ["auth"],
      stale: true,
    });
  });

  it.each([
    ["no challenge", undefined],
    ["another scheme", 'Basic realm="x"'],
    ["no nonce", 'Digest realm="r", qop="auth"'],
    ["no qop=auth", 'Digest realm="r", nonce="n", qop="auth-int"'],
    ["unknown algorithm", 'Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512'],
    ["unterminated quote", 'Digest realm="r, nonce="n'],
  ])("rejects a challenge with %s", (_name, header) => {
    expect(parseDigestChallenge(header)).toBeUndefined();
  });

  it("round-trips an Authorization header through the server-side parser", () => {
    const header = formatDigestAuthorization(
      { ...example, algorithm: "SHA-256" },
      "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    );
    const params = parseDigestAuthorization(header);
    expect(Object.fromEntries(params ?? [])).toEqual({
      username: "Mufasa",
      realm: "http-auth@example.org",
      uri: "/dir/index.html",
      algorithm: "SHA-256",
      nonce: example.nonce,
      nc: "00000001",
      cnonce: example.cnonce,
      qop: "auth",
      response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
      opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    });
  });
});
