/** Checks a node-cron expression (five fields, or six with seconds first). */
import { validate, validateDetailed, type CronFieldError } from "node-cron";
import { accept, refuse, type Parsed } from "./parsed.js";

const FIELD_NAMES: Readonly<Record<string, string>> = {
  second: "second",
  minute: "minute",
  hour: "hour",
  dayOfMonth: "day-of-month",
  month: "month",
  dayOfWeek: "day-of-week",
};

/**
 * Accepts the expression when node-cron's `validate` does (the check `schedule` relies on);
 * `validateDetailed` supplies the reason for a refusal.
 */
export function parseCronExpression(expression: string): Parsed<string> {
  if (validate(expression)) return accept(expression);
  const first = validateDetailed(expression).errors[0];
  const detail = first === undefined ? "rejected by node-cron" : describeCronError(first);
  return refuse(`is not a valid cron expression (${detail})`);
}

function describeCronError(error: CronFieldError): string {
  if (error.field === "expression") {
    return error.message === "pattern includes illegal characters"
      ? "it may contain only letters, digits, spaces and - * / , # ?"
      : error.message;
  }
  const field = FIELD_NAMES[error.field] ?? error.field;
  if (error.message.includes("impossible day of month")) {
    return `the ${field} field ${JSON.stringify(error.value ?? "")} never occurs in the given months`;
  }
  return `invalid ${field} field ${JSON.stringify(error.value ?? "")}`;
}
