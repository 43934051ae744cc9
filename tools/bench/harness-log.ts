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

/**
 * Seconds of the new standbys' clones. A standby clones itself at its container's first start,
 * and its `-N-ready` command (N > 1: instance 1 is the benchmark's primary) lasts until the
 * clone runs and accepts connections.
 */
export function cloneTimings(timings: readonly ResourceTiming[]): ResourceTiming[] {
  return timings.filter((t) => {
    const n = /-(\d+)-ready$/.exec(t.name);
    return t.type === "Command" && t.action === "create" && n !== null && Number(n[1]) > 1;
  });
}
