/**
 * Small helpers for the fault and security tests (tests/live/faults.live.test.ts,
 * tests/live/security.live.test.ts): SQL inside a container, container state, timing output,
 * and a writability poller that also sees instances cut off from the network.
 */
import {
  docker,
  dockerUnavailableReason,
  psql,
  PsqlTarget,
  RunResult,
  sleep,
} from "../../support/docker";
import { LOAD_TABLE, WriteRecord } from "../../support/write-load";

/**
 * Whether a live suite runs, and why not. Under CI=true it always runs (a missing engine or
 * image then fails in beforeAll); otherwise it is skipped with the reason on stderr (jest drops
 * console output of fully skipped suites).
 */
export function liveSuiteGate(suite: string): {
  describeLive: jest.Describe;
  unavailable?: string;
} {
  const unavailable = dockerUnavailableReason();
  const skip = unavailable !== undefined && process.env.CI !== "true";
  if (skip) process.stderr.write(`Skipping ${suite}: ${unavailable}\n`);
  return { describeLive: skip ? describe.skip : describe, unavailable };
}

/** Prints `<label> timing: <title>: <seconds>s` (printed, never asserted). */
export function timed(title: string, started: number, label = "fault"): void {
  console.log(`${label} timing: ${title}: ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/**
 * SQL as the superuser over the container's local socket (`docker exec -u postgres`, peer
 * authentication): works while the container is cut off from every network.
 */
export async function sqlIn(
  container: string,
  superuser: string,
  statement: string,
  options: { timeoutMs?: number; database?: string } = {},
): Promise<string> {
  const { stdout } = await docker(
    [
      "exec",
      "-u",
      "postgres",
      container,
      "psql",
      "-X",
      "-A",
      "-t",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "-U",
      superuser,
      "-d",
      options.database ?? "postgres",
      "-c",
      statement,
    ],
    { timeoutMs: options.timeoutMs ?? 60_000 },
  );
  return stdout.trim();
}

/** `docker inspect -f {{.State.Status}}`: running, exited, ... or `missing`. */
export async function containerStatus(container: string): Promise<string> {
  const { code, stdout } = await docker(["inspect", "-f", "{{.State.Status}}", container], {
    allowFailure: true,
  });
  return code === 0 ? stdout.trim() : "missing";
}

/** The last lines of a container's log (stdout and stderr), for messages and reports. */
export async function logTail(container: string, lines = 60): Promise<string> {
  const r: RunResult = await docker(["logs", "--tail", String(lines), container], {
    allowFailure: true,
  });
  return `${r.stdout}${r.stderr}`;
}

/**
 * Polls, through `docker exec` (so an instance without a network is still seen), whether each
 * container accepts writes; records every moment at which more than one did, and every
 * container that was ever seen writable.
 */
export class ExecWritablePoller {
  readonly splitBrain: string[] = [];
  readonly everWritable = new Set<string>();
  samples = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(containers: readonly string[], superuser: string, intervalMs = 200) {
    this.done = (async () => {
      while (this.running) {
        const states = await Promise.all(
          containers.map((c) =>
            sqlIn(c, superuser, "select not pg_is_in_recovery()", { timeoutMs: 10_000 }).then(
              (out) => out.trim() === "t",
              () => false,
            ),
          ),
        );
        const writers = containers.filter((_, i) => states[i]);
        writers.forEach((w) => this.everWritable.add(w));
        if (writers.length > 1) {
          this.splitBrain.push(`${new Date().toISOString()} ${writers.join(",")}`);
        }
        this.samples++;
        await sleep(intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** Size of pg_wal in bytes (`pg_ls_waldir()`), as the superuser inside the container. */
export async function walDirBytes(container: string, superuser: string): Promise<number> {
  return Number(await sqlIn(container, superuser, "select sum(size) from pg_ls_waldir()"));
}

export const MB = 1024 * 1024;

export function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(0)}MB`;
}

/** seq -> timeline of every row of the write-load table, as stored by the server. */
export async function storedTimelines(target: PsqlTarget): Promise<Map<number, number>> {
  const rows = await psql(target, `select seq || ' ' || timeline from ${LOAD_TABLE}`, {
    timeoutMs: 30_000,
  });
  return new Map(
    rows
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split(" ").map(Number) as [number, number]),
  );
}

export interface TimelineSwitch {
  /** Last acknowledgement on `oldTimeline` to the first on a newer one (client clock). */
  readonly gapMs?: number;
  readonly lastOldAck?: WriteRecord;
  readonly firstNewAck?: WriteRecord;
  readonly newTimelineAcks: number;
}

/**
 * The outage around a role change, from the timelines the server stored in each row (the
 * authority for which primary acknowledged it), not from the client's parse of the reply.
 */
export function timelineSwitch(
  records: readonly WriteRecord[],
  timelines: ReadonlyMap<number, number>,
  oldTimeline: number,
): TimelineSwitch {
  const acks = records
    .filter((r) => r.outcome === "ack" && timelines.has(r.seq))
    .sort((a, b) => a.doneAt - b.doneAt);
  const newer = acks.filter((r) => timelines.get(r.seq)! > oldTimeline);
  const firstNewAck = newer[0];
  const lastOldAck = acks
    .filter(
      (r) =>
        timelines.get(r.seq) === oldTimeline && (!firstNewAck || r.doneAt <= firstNewAck.doneAt),
    )
    .pop();
  return {
    gapMs: firstNewAck && lastOldAck ? firstNewAck.doneAt - lastOldAck.doneAt : undefined,
    lastOldAck,
    firstNewAck,
    newTimelineAcks: newer.length,
  };
}
