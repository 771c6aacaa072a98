/** The metrics server's listen address: `host:port`, `[ipv6]:port` or `:port`. */
import { isIPv4, isIPv6 } from "node:net";
import type { ListenAddress } from "./settings.js";
import { accept, refuse, type Parsed } from "./parsed.js";

/** The host used when the address is only `:port`: every IPv4 interface. */
export const ANY_HOST = "0.0.0.0";

const PORT = /^\d{1,5}$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Parses a listen address. The host is an IPv4 address, a bracketed IPv6 address (returned
 * without brackets, as `net.Server.listen` wants it) or a host name; the port is 0..65535
 * (0 lets the system pick a free port, which tests and side-by-side runs use).
 */
export function parseListenAddress(text: string): Parsed<ListenAddress> {
  const invalid = (detail: string): Parsed<ListenAddress> =>
    refuse(`is not a valid listen address: ${detail}`);
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const match = /^\[([^\]]*)\]:(.*)$/.exec(text);
    if (match === null) return invalid("expected [ipv6]:port");
    host = match[1] ?? "";
    portText = match[2] ?? "";
    if (!isIPv6(host)) return invalid(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon === -1) return invalid("expected host:port, [ipv6]:port or :port");
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) return invalid("an IPv6 host must be in brackets, like [::1]:9917");
    if (host === "") host = ANY_HOST;
    else if (!isIPv4(host)) {
      if (/^[\d.]+$/.test(host)) {
        return invalid(`${JSON.stringify(host)} is not an IPv4 address`);
      }
      if (!isHostName(host)) {
        return invalid(`${JSON.stringify(host)} is not an IPv4 address or host name`);
      }
    }
  }
  const port = Number(portText);
  if (!PORT.test(portText) || port > 65_535) {
    return invalid("the port must be an integer from 0 to 65535");
  }
  return accept({ host, port });
}

/** Formats an address the way `parseListenAddress` reads it (IPv6 hosts in brackets). */
export function formatListenAddress(address: ListenAddress): string {
  return isIPv6(address.host)
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}

function isHostName(host: string): boolean {
  return host.length <= 253 && host.split(".").every((label) => LABEL.test(label));
}
