/**
 * A write-load client for fault scenarios and the benchmark: inserts numbered rows in a loop
 * through a libpq URI (normally the replica set's readWriteUri, so it follows the primary) and
 * records, for every row, whether the commit was acknowledged, failed before it was sent, or
 * is unknown (the connection broke while the commit was in flight). Each row stores its insert
 * time and the server's timeline, so the outage around a role change can be measured from the
 * client's side and lost acknowledged rows counted afterwards.
 */
import { pgTool, psql, PsqlTarget, run, sleep } from "./docker";

export type WriteOutcome = "ack" | "failed" | "unknown";

export interface WriteRecord {
  readonly seq: number;
  readonly sentAt: number;
  readonly doneAt: number;
  readonly outcome: WriteOutcome;
  /** Timeline of the server that acknowledged the row. */
  readonly timeline?: number;
}

export interface WriteLoadSummary {
  readonly attempts: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly unknown: number;
  /** Longest time between two consecutive acknowledgements, in milliseconds. */
  readonly longestGapMs: number;
  /** Last acknowledgement on the old timeline to first on a newer one (undefined if none). */
  readonly timelineSwitchGapMs?: number;
}

export const LOAD_TABLE = "write_load";

export async function createLoadTable(target: PsqlTarget): Promise<void> {
  await psql(
    target,
    `create table if not exists ${LOAD_TABLE} (seq int primary key, inserted_at timestamptz not null, timeline int not null)`,
  );
}

const INSERT = (seq: number) =>
  `insert into ${LOAD_TABLE} values (${seq}, clock_timestamp(), ` +
  `('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int) returning timeline`;

function classify(stderr: string): WriteOutcome {
  // psql reports a failure to connect as "psql: error: connection to server ... failed": the
  // statement was never sent. A server that refuses writes answers with an ERROR: nothing was
  // committed either. Anything else (the connection broke mid-statement) may have committed.
  if (/psql: error: connection to server|ERROR: /.test(stderr)) return "failed";
  return "unknown";
}

/**
 * libpq environment variables for a (multi-host) `postgresql://` URI, so that no password is
 * on a command line: PGHOST/PGPORT take comma-separated lists like the URI's host list.
 */
export function libpqEnvironment(uri: string): Record<string, string> {
  const match = /^postgresql:\/\/([^:@/]+):([^@]*)@([^/]+)\/([^?]+)(?:\?(.*))?$/.exec(uri);
  if (!match) throw new Error("not a postgresql:// URI with user, password, hosts and database");
  const [, user, password, hostList, database, query] = match;
  const hosts = hostList.split(",").map((h) => h.split(":"));
  const env: Record<string, string> = {
    PGUSER: decodeURIComponent(user),
    PGPASSWORD: decodeURIComponent(password),
    PGHOST: hosts.map(([host]) => host).join(","),
    PGPORT: hosts.map(([, port]) => port ?? "5432").join(","),
    PGDATABASE: decodeURIComponent(database),
  };
  const attrs = new URLSearchParams(query ?? "").get("target_session_attrs");
  if (attrs) env.PGTARGETSESSIONATTRS = attrs;
  return env;
}

export class WriteLoad {
  readonly records: WriteRecord[] = [];
  private running = false;
  private loop?: Promise<void>;

  /** @param uri libpq URI with the password in it; passed to psql through the environment. */
  constructor(
    private readonly uri: string,
    private readonly pauseMs = 20,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      let seq = 0;
      while (this.running) {
        seq++;
        const sentAt = Date.now();
        // A statement still running after the timeout may or may not commit: "unknown".
        const result = await run(
          pgTool("psql"),
          ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", INSERT(seq)],
          {
            env: { ...libpqEnvironment(this.uri), PGCONNECT_TIMEOUT: "2", PGSSLMODE: "disable" },
            allowFailure: true,
            timeoutMs: 10_000,
          },
        ).catch((error: unknown) => ({ code: -1, stdout: "", stderr: String(error) }));
        const doneAt = Date.now();
        if (result.code === 0) {
          this.records.push({
            seq,
            sentAt,
            doneAt,
            outcome: "ack",
            timeline: Number(result.stdout.trim()),
          });
        } else {
          this.records.push({ seq, sentAt, doneAt, outcome: classify(result.stderr) });
        }
        await sleep(this.pauseMs);
      }
    })();
  }

  /** Waits (bounded) until a row is acknowledged after `since` (ms since the epoch). */
  async acknowledgedAfter(since: number, timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.records.some((r) => r.outcome === "ack" && r.sentAt > since)) return true;
      await sleep(100);
    }
    return false;
  }

  async stop(): Promise<WriteLoadSummary> {
    this.running = false;
    await this.loop;
    return this.summary();
  }

  summary(): WriteLoadSummary {
    const acks = this.records.filter((r) => r.outcome === "ack");
    let longestGapMs = 0;
    let timelineSwitchGapMs: number | undefined;
    for (let i = 1; i < acks.length; i++) {
      const gap = acks[i].doneAt - acks[i - 1].doneAt;
      longestGapMs = Math.max(longestGapMs, gap);
      if (
        timelineSwitchGapMs === undefined &&
        (acks[i].timeline ?? 0) > (acks[i - 1].timeline ?? 0)
      ) {
        timelineSwitchGapMs = gap;
      }
    }
    return {
      attempts: this.records.length,
      acknowledged: acks.length,
      failed: this.records.filter((r) => r.outcome === "failed").length,
      unknown: this.records.filter((r) => r.outcome === "unknown").length,
      longestGapMs,
      timelineSwitchGapMs,
    };
  }

  /** Acknowledged rows missing from `target` (normally the primary after the fault). */
  async lostAcknowledged(target: PsqlTarget): Promise<number[]> {
    const present = new Set(
      (await psql(target, `select seq from ${LOAD_TABLE}`))
        .split("\n")
        .filter((s) => s !== "")
        .map(Number),
    );
    return this.records.filter((r) => r.outcome === "ack" && !present.has(r.seq)).map((r) => r.seq);
  }
}
