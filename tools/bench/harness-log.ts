/** Reading the live harness's printed lines (pure). */
import { ResourceTiming } from "./types";

const RESOURCE_LINE =
  /^ {2}(create|same|update|replace|delete|refresh-drop)\s+(\S+)\s+(\S+)\s+(\d+(?:\.\d+)?)s\b/;
const SUMMARY_LINE = /^Resources: .*\((\d+(?:\.\d+)?)s\)\s*$/;

/** One entry per resource line (`  create  Command  name  2.5s`), in printed order. */
export function resourceTimings(output: string): ResourceTiming[] {
  const timings: ResourceTiming[] = [];
  for (const line of output.split("\n")) {
    const m = RESOURCE_LINE.exec(line);
    if (m) timings.push({ action: m[1], type: m[2], name: m[3], seconds: Number(m[4]) });
  }
  return timings;
}

/** The total the harness prints on its summary line, if there is one. */
export function engineSeconds(output: string): number | undefined {
  for (const line of output.split("\n")) {
    const m = SUMMARY_LINE.exec(line);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Seconds of the `-join` commands (base backups) that were created, by resource name. */
export function joinTimings(timings: readonly ResourceTiming[]): ResourceTiming[] {
  return timings.filter(
    (t) => t.type === "Command" && t.name.endsWith("-join") && t.action === "create",
  );
}
