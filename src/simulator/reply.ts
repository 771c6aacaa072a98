/** A complete HTTP answer computed before it is sent, so that faults can alter or delay it. */
import { STATUS_CODES } from "node:http";

/** Status, headers and body of one answer. */
export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The HTTP reason phrase of a status, e.g. "Not Found". */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? "Unknown";
}

/** A JSON answer with the given content type. */
export function jsonReply(
  status: number,
  value: unknown,
  contentType: string,
  headers: Readonly<Record<string, string>> = {},
): Reply {
  return {
    status,
    headers: { ...headers, "content-type": contentType },
    body: JSON.stringify(value),
  };
}

/** Adds headers to a reply (the reply's own win on a clash, except where `override` is set). */
export function withHeaders(
  reply: Reply,
  headers: Readonly<Record<string, string>>,
  override = false,
): Reply {
  return {
    ...reply,
    headers: override ? { ...reply.headers, ...headers } : { ...headers, ...reply.headers },
  };
}
