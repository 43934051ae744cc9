/** Printing for the live harness: every line passes the secret redactor. */
import { redactor } from "./secrets";
import { Action, shortType } from "./types";

export function say(line: string): void {
  process.stdout.write(redactor.redact(line) + "\n");
}

export function warn(line: string): void {
  process.stderr.write(redactor.redact(line) + "\n");
}

export function progress(
  action: Action,
  type: string,
  name: string,
  seconds: number,
  detail = "",
): void {
  const line = `  ${action.padEnd(12)} ${shortType(type).padEnd(18)} ${name.padEnd(28)} ${seconds.toFixed(1)}s`;
  say(detail ? `${line}  (${detail})` : line);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
