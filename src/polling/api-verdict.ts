/**
 * What one poll says about Atlas as a whole, for `atlas_restore_api_up`: whether Atlas is usable
 * for us, not merely whether something answered.
 */
import { AtlasHttpError, type AtlasError } from "../atlas/errors.js";

/**
 * True when the failure still shows a usable Atlas (a 4xx about one job, a 429), false when Atlas
 * is unusable: unreachable, timing out, 5xx, a body that is not an answer, or credentials refused
 * (401, 403). Undefined when no request reached Atlas (the token budget was spent).
 */
export function apiUsableAfter(error: AtlasError): boolean | undefined {
  switch (error.code) {
    case "ATLAS_HTTP_ERROR": {
      const { status } = error as AtlasHttpError;
      return status < 500 && status !== 401 && status !== 403;
    }
    case "ATLAS_AUTH_ERROR":
      return undefined;
    default:
      return false;
  }
}
