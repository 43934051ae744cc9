/** Looking at a deployed replica set from the outside: psql through the published ports, docker. */
import {
  docker,
  psql,
  PsqlTarget,
  removeByLabel,
  run,
  shellOnVolume,
  sleep,
  waitUntil,
} from "../../support/docker";
import { UpResult } from "../drivers/deployment";

export const CLUSTER_LABEL = "postgres-replication.cluster";

export interface InstanceOutput {
  name: string;
  role: "primary" | "standby";
  hostPort: number;
}

export class Cluster {
  constructor(
    readonly name: string,
    private readonly result: UpResult,
  ) {}

  get instances(): InstanceOutput[] {
    return this.result.outputs.instances as InstanceOutput[];
  }

  get password(): string {
    return this.result.outputs.superuserPassword as string;
  }

  /** psql target of instance n (1-based), through its published port. */
  target(n: number, database = "postgresdb"): PsqlTarget {
    const instance = this.instances[n - 1];
    return { port: instance.hostPort, user: "postgresadmin", password: this.password, database };
  }

  sql(n: number, statement: string): Promise<string> {
    return psql(this.target(n), statement);
  }

  async writable(n: number): Promise<boolean | undefined> {
    try {
      return (
        (await psql(this.target(n), "select not pg_is_in_recovery()", { timeoutMs: 5000 })) === "t"
      );
    } catch {
      return undefined;
    }
  }

  /** Names of the standbys the primary reports as streaming. */
  async streaming(primary: number): Promise<string[]> {
    const rows = await this.sql(
      primary,
      "select application_name from pg_stat_replication where state = 'streaming' order by 1",
    );
    return rows === "" ? [] : rows.split("\n");
  }

  async containerIdentity(n: number): Promise<string> {
    const { stdout } = await docker([
      "inspect",
      "-f",
      "{{.Id}} {{.State.StartedAt}}",
      `${this.name}-${n}`,
    ]);
    return stdout.trim();
  }
}

/** Polls `check` (a failed check counts as false) until it holds; throws `message` after the timeout. */
export async function eventually(
  check: () => Promise<boolean>,
  message: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitUntil(() => check().catch(() => false), message, { timeoutMs, intervalMs: 500 });
}

/**
 * Everything Docker holds with the cluster's label: containers, volumes, networks. The backup
 * repository volume, which a destroy keeps on purpose (backup.keepOnDestroy, default true), is
 * left out unless asked for; backup.live.test.ts checks it is kept and removed as configured.
 */
export async function labelledObjects(
  cluster: string,
  { includeKept = false }: { includeKept?: boolean } = {},
): Promise<string[]> {
  const filter = ["--filter", `label=${CLUSTER_LABEL}=${cluster}`];
  const lists = await Promise.all([
    docker(["ps", "-a", "--format", "container {{.Names}}", ...filter]),
    docker(["volume", "ls", "--format", "volume {{.Name}}", ...filter]),
    docker(["network", "ls", "--format", "network {{.Name}}", ...filter]),
  ]);
  return lists
    .flatMap((l) => l.stdout.split("\n").filter((line) => line.trim() !== ""))
    .filter((object) => includeKept || object !== `volume ${cluster}-backup`);
}

/** Removes what an earlier, interrupted run left of this cluster. */
export function removeLeftovers(cluster: string): Promise<void> {
  return removeByLabel(`${CLUSTER_LABEL}=${cluster}`);
}

/**
 * WAL segment names in the cluster's archive: the pgBackRest repository (`<cluster>-backup`,
 * files named segment-checksum.compression) when backups are on, else the plain archive volume.
 */
export async function archivedFiles(cluster: string, image: string): Promise<string[]> {
  // Mounting a volume that does not exist would create it: look first.
  const repository = `${cluster}-backup`;
  const isRepository =
    (await run("docker", ["volume", "inspect", repository], { allowFailure: true })).code === 0;
  const { stdout } = await shellOnVolume(
    image,
    isRepository ? repository : `${cluster}-wal-archive`,
    "/archive",
    isRepository
      ? "find /archive/archive -type f -name '[0-9A-F]*-*' -exec basename {} \\;"
      : "ls /archive",
  );
  return stdout
    .split("\n")
    .filter((f) => f !== "")
    .map((f) => f.replace(/^([0-9A-F]{24})-.*$/, "$1"));
}

/**
 * Polls every instance's writability until stopped; records each moment at which more than
 * one instance accepted writes.
 */
export class WritablePoller {
  readonly splitBrain: string[] = [];
  samples = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(cluster: () => Cluster, count: number) {
    this.done = (async () => {
      while (this.running) {
        const c = cluster();
        const states = await Promise.all(
          Array.from({ length: count }, (_, i) => c.writable(i + 1)),
        );
        const writers = states.flatMap((s, i) => (s === true ? [i + 1] : []));
        if (writers.length > 1) this.splitBrain.push(`${new Date().toISOString()} ${writers}`);
        this.samples++;
        await sleep(100);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}
