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
