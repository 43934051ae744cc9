/**
 * Client-side view of an automatic-failover (Patroni) cluster, shared by the live test and the
 * bench: node-postgres through the endpoints, a numbered write load, and `patronictl list`.
 */
import { Client } from "pg";

import { docker, sleep } from "../../support/docker";
import { eventually } from "./cluster";
import { sqlIn } from "./faults";

export const SUPERUSER = "postgresadmin";

export interface Endpoint {
  host: string;
  port: number;
}

export function endpointOf(value: unknown): Endpoint {
  const [host, port] = String(value).split(":");
  return { host, port: Number(port) };
}

export async function query(endpoint: Endpoint, password: string, sql: string): Promise<string> {
  const c = new Client({
    ...endpoint,
    user: SUPERUSER,
    password,
    database: "postgresdb",
    connectionTimeoutMillis: 2000,
    query_timeout: 10_000,
  });
  c.on("error", () => undefined);
  await c.connect();
  try {
    const result = await c.query({ text: sql, rowMode: "array" });
    return String(result.rows[0]?.[0]);
  } finally {
    // A session the proxy still holds to an unreachable member never answers Terminate.
    await Promise.race([c.end().catch(() => undefined), sleep(2000)]);
  }
}

/** Every seq stored in the `writes` table. */
export async function storedSeqs(endpoint: Endpoint, password: string): Promise<Set<number>> {
  return new Set(
    (await query(endpoint, password, "select string_agg(seq::text, ',') from writes"))
      .split(",")
      .map(Number),
  );
}

/** Inserts numbered rows into `writes` through the endpoint (a new connection each) until stopped. */
export class Writer {
  readonly acks: { seq: number; at: number }[] = [];
  /** When an attempt failed (refused, broken, timed out). */
  readonly failures: number[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(endpoint: Endpoint, password: string, firstSeq: number) {
    this.done = (async () => {
      for (let seq = firstSeq; this.running; seq++) {
        try {
          await query(endpoint, password, `insert into writes values (${seq}) returning seq`);
          this.acks.push({ seq, at: Date.now() });
        } catch {
          // Refused or broken while the leader changes; the gap is the figure.
          this.failures.push(Date.now());
        }
        await sleep(100);
      }
    })();
  }

  /** Last acknowledgement before `t` to the first one after it, in ms (undefined: none yet). */
  gapAround(t: number): number | undefined {
    const before = this.acks.filter((a) => a.at <= t).pop();
    const after = this.acks.find((a) => a.at > t);
    return before && after ? after.at - before.at : undefined;
  }

  /** Longest time between two acknowledgements, in ms. */
  longestGap(): number {
    let gap = 0;
    for (let i = 1; i < this.acks.length; i++) {
      gap = Math.max(gap, this.acks[i].at - this.acks[i - 1].at);
    }
    return gap;
  }

  /** Acknowledged and failed attempts from `from` on. */
  since(from: number): { acked: number; failed: number } {
    return {
      acked: this.acks.filter((a) => a.at >= from).length,
      failed: this.failures.filter((f) => f >= from).length,
    };
  }

  /** Acknowledged seqs missing from `stored`. */
  lost(stored: Set<number>): number[] {
    return this.acks.filter((a) => !stored.has(a.seq)).map((a) => a.seq);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

export interface Member {
  Member: string;
  Role: string;
  State: string;
  "Lag in MB"?: number | string;
  /** "*" while a changed setting waits for a restart (the column appears only then). */
  "Pending restart"?: string;
}

/** Patroni's view (patronictl in the first running member of `cluster`-1..4). */
export async function members(cluster: string): Promise<Member[]> {
  for (let n = 1; n <= 4; n++) {
    const r = await docker(
      [
        "exec",
        "-u",
        "postgres",
        `${cluster}-${n}`,
        "patronictl",
        "-c",
        "/config/patroni",
        "list",
        "-f",
        "json",
      ],
      { allowFailure: true, timeoutMs: 15_000 },
    ).catch(() => undefined);
    if (r && r.code === 0) return JSON.parse(r.stdout) as Member[];
  }
  return [];
}

export async function leader(cluster: string): Promise<string | undefined> {
  return (await members(cluster)).find((m) => m.Role === "Leader" && m.State === "running")?.Member;
}

/** Every named member runs, one leads, the others replicate with no lag. */
export async function healthy(cluster: string, names: readonly string[]): Promise<boolean> {
  const list = await members(cluster);
  const running = list.filter((m) => ["running", "streaming"].includes(m.State));
  return (
    running.length === names.length &&
    names.every((n) => running.some((m) => m.Member === n)) &&
    running.filter((m) => m.Role === "Leader").length === 1 &&
    running.every((m) => m.Role === "Leader" || Number(m["Lag in MB"] ?? 0) === 0)
  );
}

/** `member` runs as a replica and the whole set is healthy. */
export async function rejoined(
  cluster: string,
  member: string,
  names: readonly string[],
): Promise<boolean> {
  return (
    (await members(cluster)).some(
      (m) => m.Member === member && m.Role !== "Leader" && m.State === "running",
    ) && (await healthy(cluster, names))
  );
}

/** Patroni's `/sync` key in etcd: the leader that wrote it and the standbys it named. */
export interface SyncKey {
  leader?: string;
  sync_standby?: string | null;
}

/** The `/sync` key as the first answering etcd member (`cluster`-etcd-1..3) holds it. */
export async function syncKey(cluster: string): Promise<SyncKey | undefined> {
  for (let n = 1; n <= 3; n++) {
    const r = await docker(
      [
        "exec",
        `${cluster}-etcd-${n}`,
        "etcdctl",
        "--command-timeout=5s",
        "get",
        "--print-value-only",
        `/postgres-replication/${cluster}/sync`,
      ],
      { allowFailure: true, timeoutMs: 15_000 },
    ).catch(() => undefined);
    if (r && r.code === 0) return r.stdout.trim() ? (JSON.parse(r.stdout) as SyncKey) : {};
  }
  return undefined;
}

/**
 * The synchronous standby `leader` has named in `/sync`, if any. In synchronous mode Patroni
 * 3.0.2 lets only the members of that key race for a lost leader's key (Ha.is_healthiest_node),
 * so without one no replica takes over.
 */
export async function namedSyncStandby(
  cluster: string,
  leader: string,
): Promise<string | undefined> {
  const key = await syncKey(cluster);
  const named = (key?.sync_standby ?? "").split(",").filter(Boolean);
  return key?.leader === leader && named.length > 0 ? named[0] : undefined;
}

/** The leader and the standby it named in `/sync`, once it has named one; else undefined. */
export async function leaderAndHeir(
  cluster: string,
): Promise<{ leader: string; heir: string } | undefined> {
  const now = await leader(cluster);
  const heir = now === undefined ? undefined : await namedSyncStandby(cluster, now);
  return now !== undefined && heir !== undefined ? { leader: now, heir } : undefined;
}

/**
 * Waits until the leader has named its synchronous standby in /sync. In synchronous mode only
 * that standby may take a lost leader's key, and for a few seconds after every member looks
 * healthy the key names nobody: a leader lost then is replaced by no one (Patroni keeping
 * acknowledged rows safe), so a fault injected before this measures no failover at all.
 */
export async function waitForHeir(cluster: string): Promise<{ leader: string; heir: string }> {
  let named: { leader: string; heir: string } | undefined;
  await eventually(
    async () => (named = await leaderAndHeir(cluster)) !== undefined,
    "the leader named no synchronous standby in /sync",
    120_000,
  );
  return named!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** An instance's answer to "would you take a write?", timed by its server's clock. */
export interface WritableAnswer {
  readonly at: number;
  readonly writable: boolean;
}

/**
 * Moments at which two instances took writes: a "writable" answer of one instance that falls
 * between two "writable" answers of another with no "read-only" answer of that other in
 * between (a failed query is no answer). Timed by the servers (the host's clock, shared by
 * all), not by the sampling round: under load the answers of one round come up to a second
 * apart.
 */
export function overlappingWrites(
  answers: ReadonlyMap<string, readonly WritableAnswer[]>,
): { at: number; writable: string[] }[] {
  const spans = new Map<string, [number, number][]>();
  for (const [c, list] of answers) {
    const own: [number, number][] = [];
    let open: [number, number] | undefined;
    for (const a of [...list].sort((x, y) => x.at - y.at)) {
      if (!a.writable) open = undefined;
      else if (open) open[1] = a.at;
      else own.push((open = [a.at, a.at]));
    }
    spans.set(c, own);
  }
  const found: { at: number; writable: string[] }[] = [];
  for (const [b, list] of answers) {
    for (const { at, writable } of list) {
      if (!writable) continue;
      for (const [a, own] of spans) {
        if (a !== b && own.some(([from, to]) => from <= at && at <= to)) {
          found.push({ at, writable: [a, b].sort() });
        }
      }
    }
  }
  return found;
}

/**
 * Every `intervalMs`, asks each container over its local socket whether PostgreSQL would take
 * a write (primary and transaction_read_only off; a stopped server or a failed exec counts as
 * no) and keeps the answers with the time the round started, and with its server's time.
 */
export class WritableTimeline {
  readonly rounds: { at: number; writable: string[] }[] = [];
  /** Each instance's answers, timed by its server's clock (the host's, shared by all). */
  private readonly answers = new Map<string, WritableAnswer[]>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(containers: readonly string[], superuser: string, intervalMs = 200) {
    for (const c of containers) this.answers.set(c, []);
    const ask = (c: string): Promise<boolean> =>
      sqlIn(
        c,
        superuser,
        "select (not pg_is_in_recovery() and current_setting('transaction_read_only') = 'off')::text" +
          " || ' ' || floor(extract(epoch from clock_timestamp()) * 1000)::bigint",
        { timeoutMs: 5000 },
      ).then(
        (out) => {
          const [state, at] = out.trim().split(" ");
          this.answers.get(c)!.push({ at: Number(at), writable: state === "true" });
          return state === "true";
        },
        () => false,
      );
    this.done = (async () => {
      while (this.running) {
        const at = Date.now();
        const states = await Promise.all(containers.map(ask));
        this.rounds.push({ at, writable: containers.filter((_, i) => states[i]) });
        await sleep(intervalMs);
      }
    })();
  }

  /** Moments at which two instances took writes (see `overlappingWrites`). */
  overlaps(): { at: number; writable: string[] }[] {
    return overlappingWrites(this.answers);
  }

  /** Start of the first round from `from` on in which `pred` holds (undefined: none yet). */
  firstAt(from: number, pred: (writable: string[]) => boolean): number | undefined {
    return this.rounds.find((r) => r.at >= from && pred(r.writable))?.at;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}
