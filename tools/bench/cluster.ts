/**
 * A benchmark cluster: one live-harness deployment with its own name (`prb-…`) and host ports,
 * created from scratch (leftovers removed by label first) and always destroyed afterwards.
 */
import { DEFAULT_SETTINGS } from "../../components/settings";
import { LiveDeployment } from "../../tests/live/drivers/live-driver";
import { ConfigValues, UpResult } from "../../tests/live/drivers/deployment";
import { CLUSTER_LABEL, Cluster, removeLeftovers } from "../../tests/live/support/cluster";
import { docker, RunOptions } from "../../tests/support/docker";
import { engineSeconds, resourceTimings } from "./harness-log";
import { ResourceTiming } from "./types";

export interface BenchContext {
  readonly image: string;
  /** Where the harness's output goes (it is secret-free). */
  readonly harnessLog: (text: string) => void;
  /** Progress lines for the person running the benchmark. */
  readonly note: (line: string) => void;
}

export interface TimedUp {
  readonly result: UpResult;
  readonly cluster: Cluster;
  readonly wallSeconds: number;
  readonly engineSeconds?: number;
  readonly resources: readonly ResourceTiming[];
}

/** Names of the clusters that exist right now, for cleanup on an interrupt. */
export const liveClusters = new Set<string>();

/** Run options of a command that moves a whole data directory (pgbench -i, copies, backups). */
export const LONG = { timeoutMs: 30 * 60_000 };

export const FIRST_PORT = 16000;
export const LAST_PORT = 16199;
/** Host ports a cluster takes: its instances (hostPort + 0…15), then its endpoints, if any. */
const PORTS_PER_CLUSTER = 18;
/** Whether the program publishes endpoints of its own (`endpointPort`, two ports). */
const HAS_ENDPOINTS = "endpointPort" in DEFAULT_SETTINGS;

export class BenchCluster {
  readonly deployment: LiveDeployment;

  constructor(
    readonly name: string,
    readonly hostPort: number,
    private readonly ctx: BenchContext,
  ) {
    if (!name.startsWith("prb-")) throw new Error(`bench cluster ${name} must start with prb-`);
    if (hostPort < FIRST_PORT || hostPort + PORTS_PER_CLUSTER - 1 > LAST_PORT) {
      throw new Error(
        `bench cluster ${name}: ports ${hostPort}+ outside ${FIRST_PORT}-${LAST_PORT}`,
      );
    }
    this.deployment = new LiveDeployment({ stack: name, log: ctx.harnessLog });
  }

  /** Container name of instance n. */
  container(n: number): string {
    return `${this.name}-${n}`;
  }

  /** `up` with the cluster's fixed settings plus `config`, timed. */
  async up(config: ConfigValues, opts: { refresh?: boolean } = {}): Promise<TimedUp> {
    const full = {
      clusterName: this.name,
      hostPort: this.hostPort,
      // The endpoints stay in the benchmark's port range too, after the instances' ports.
      ...(HAS_ENDPOINTS ? { endpointPort: this.hostPort + 16 } : {}),
      image: this.ctx.image,
      ...config,
    };
    const mark = this.deployment.output.length;
    const started = performance.now();
    const result = await this.deployment.up(full, opts);
    const wallSeconds = (performance.now() - started) / 1000;
    const printed = this.deployment.output.slice(mark);
    return {
      result,
      cluster: new Cluster(this.name, result),
      wallSeconds,
      engineSeconds: engineSeconds(printed),
      resources: resourceTimings(printed),
    };
  }

  /** SQL as the superuser over the container's socket (no password needed). */
  async sqlIn(n: number, sql: string, options: RunOptions = {}): Promise<string> {
    const { stdout } = await docker(
      [
        "exec",
        "-u",
        "postgres",
        this.container(n),
        "psql",
        "-X",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        "postgresadmin",
        "-d",
        "postgresdb",
        "-c",
        sql,
      ],
      options,
    );
    return stdout.trim();
  }

  /** Runs a program inside instance n as the postgres user. */
  async execIn(n: number, argv: readonly string[], options: RunOptions = {}): Promise<string> {
    const { stdout } = await docker(
      ["exec", "-u", "postgres", this.container(n), ...argv],
      options,
    );
    return stdout;
  }
}

/**
 * Runs `body` with a fresh cluster and destroys it afterwards, whatever happens: the harness's
 * destroy first, then removal by label of anything left.
 */
export async function withCluster<T>(
  ctx: BenchContext,
  name: string,
  hostPort: number,
  body: (c: BenchCluster) => Promise<T>,
): Promise<T> {
  await removeLeftovers(name);
  const c = new BenchCluster(name, hostPort, ctx);
  liveClusters.add(name);
  try {
    return await body(c);
  } finally {
    try {
      await c.deployment.destroy();
    } catch (e) {
      ctx.note(`  destroy of ${name} failed (${firstLine(e)}); removing by label`);
    }
    await c.deployment.dispose();
    await removeLeftovers(name);
    liveClusters.delete(name);
  }
}

/**
 * Runs `script` (sh) in a throwaway container of the bench image with a fresh volume of the
 * cluster's at `/scratch` beside `mounts` (`volume:path[:ro]`), no network; the volume is
 * removed afterwards. Returns the script's stdout and the run's wall seconds.
 */
export async function runOnScratchVolume(
  ctx: BenchContext,
  c: BenchCluster,
  mounts: readonly string[],
  script: string,
): Promise<{ stdout: string; wallSeconds: number }> {
  const label = `${CLUSTER_LABEL}=${c.name}`;
  const scratch = `${c.name}-scratch`;
  await docker(["volume", "create", "--label", label, scratch]);
  try {
    const started = performance.now();
    const { stdout } = await docker(
      [
        "run",
        "--rm",
        "--network",
        "none",
        "--label",
        label,
        ...[...mounts, `${scratch}:/scratch`].flatMap((m) => ["-v", m]),
        "--entrypoint",
        "/bin/sh",
        ctx.image,
        "-c",
        script,
      ],
      LONG,
    );
    return { stdout, wallSeconds: (performance.now() - started) / 1000 };
  } finally {
    await docker(["volume", "rm", "-f", scratch], { allowFailure: true });
  }
}

export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

/** The first line of an error, and the harness's own `error:` line when it has one. */
export function describeError(e: unknown): string {
  const lines = (e instanceof Error ? e.message : String(e)).split("\n");
  const harness = lines.find((l) => l.startsWith("error: "));
  return harness ? `${lines[0]} ${harness}` : lines[0];
}
