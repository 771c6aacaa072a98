/** Atlas's error answer: an ApiError JSON body, `Content-Type: application/json`, `X-Error-Code`. */
import { reasonPhrase, type Reply } from "./reply.js";

/** The ApiError body as Atlas sends it. */
export interface ApiErrorBody {
  readonly detail: string;
  readonly error: number;
  readonly errorCode: string;
  readonly parameters: readonly unknown[];
  readonly reason: string;
}

/** Builds the ApiError answer for a status and Atlas error code. */
export function apiErrorReply(
  status: number,
  errorCode: string,
  detail: string,
  headers: Readonly<Record<string, string>> = {},
): Reply {
  const body: ApiErrorBody = {
    detail,
    error: status,
    errorCode,
    parameters: [],
    reason: reasonPhrase(status),
  };
  return {
    status,
    headers: { ...headers, "content-type": "application/json", "x-error-code": errorCode },
    body: JSON.stringify(body),
  };
}

/** The detail of the spec's `components.responses.gone` example. */
export const GONE_DETAIL =
  "This happens when a resource is marked for sunset and the sunset date is in the past.";

/** 410 VERSION_GONE exactly as the spec's example. */
export function goneReply(headers: Readonly<Record<string, string>> = {}): Reply {
  return apiErrorReply(410, "VERSION_GONE", GONE_DETAIL, headers);
}

/** The detail Atlas sends with a 401. */
export const UNAUTHORIZED_DETAIL = "You are not authorized for this resource.";
