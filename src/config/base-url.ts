/** The Atlas base URL: an http or https origin, nothing more. */
import { accept, refuse, type Parsed } from "./parsed.js";

/**
 * Parses a base URL and returns its origin (`https://host[:port]`, no trailing slash). A path,
 * query, fragment or user name/password is refused: the client appends its own paths.
 */
export function parseBaseUrl(text: string): Parsed<string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse("is not an http or https URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return refuse("is not an http or https URL");
  }
  if (url.username !== "" || url.password !== "") {
    return refuse("contains a user name or password; give only the scheme, host and port");
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    return refuse("has a path, query or fragment; give only the scheme, host and port");
  }
  return accept(url.origin);
}

/** The text with any `user:password@` after `//` replaced, safe to quote in a message. */
export function redactUrlUserInfo(text: string): string {
  return text.replace(/\/\/[^/?#]*@/, "//<redacted>@");
}

/** True for a host name that always means this machine: `localhost`, 127.0.0.0/8, `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Why a base URL may not be used with real credentials, if it may not: `http://` on a host other
 * than loopback would send the client secret (or the digest exchange) in cleartext.
 */
export function cleartextProblem(origin: string): string | undefined {
  const url = new URL(origin);
  if (url.protocol !== "http:" || isLoopbackHost(url.hostname)) return undefined;
  return (
    "uses http:// on a host that is not loopback, which would send the credentials in " +
    "cleartext; use https://, or set allowInsecureHttp: true (RESTORE_WATCH_ALLOW_INSECURE_HTTP) " +
    "for a test server you trust"
  );
}
