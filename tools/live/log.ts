/** Printing for the live harness: every line passes the secret redactor. */
import { redactor } from "./secrets";
import { Action, PlanEntry, shortType } from "./types";

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

const PLAN_SYMBOL: Record<PlanEntry["action"], string> = {
  create: "+",
  update: "~",
  replace: "+-",
  delete: "-",
  same: " ",
};

/**
 * One line of a preview: `  +-  replace      Container          name  (changed: image)`. The
 * symbol column keeps these apart from the lines of an update (`  replace ... 1.2s`).
 */
export function planLine(entry: PlanEntry, detail = ""): void {
  const label = entry.uncertain ? `may ${entry.action}` : entry.action;
  const line =
    `  ${PLAN_SYMBOL[entry.action].padEnd(3)} ${label.padEnd(12)} ` +
    `${shortType(entry.type).padEnd(18)} ${entry.name}`;
  say(detail ? `${line}  (${detail})` : line);
}
