/**
 * Small helpers for tests that drive a real Docker engine and PostgreSQL through the CLIs.
 *
 * Everything shells out (docker, psql, pg_isready) instead of using client libraries, so the
 * tests exercise exactly what a user or the Pulumi program would run.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/** Image the live tests use unless TEST_IMAGE says otherwise (built by tests/env/setup.sh). */
export const DEFAULT_TEST_IMAGE = "postgres-replication-test:15";

export function testImage(): string {
  return process.env.TEST_IMAGE ?? DEFAULT_TEST_IMAGE;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
  /** Text written to the child's stdin. */
  input?: string;
  /** Kill the child after this many milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Return a non-zero exit status instead of throwing. */
  allowFailure?: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(
      `${command} exited with ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`,
    );
    this.name = "CommandError";
  }
}

/** Run a program without a shell; resolves with its exit status and output. */
export function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], {
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const result: RunResult = { code: code ?? -1, stdout, stderr };
      const described = `${file} ${args.join(" ")}`;
      if (timedOut) {
        reject(new CommandError(`${described} (timed out after ${timeoutMs} ms)`, result));
      } else if (result.code !== 0 && !options.allowFailure) {
        reject(new CommandError(described, result));
      } else {
        resolve(result);
      }
    });
    child.stdin.on("error", () => undefined); // the child may exit before reading its input
    child.stdin.end(options.input ?? "");
  });
}

/**
 * `sh -c script` as root in a throwaway container of `image` with no network and `volume`
 * mounted read-only at `mountPoint`; `env` names variables passed on from this process's
 * environment (never their values as arguments).
 */
export function shellOnVolume(
  image: string,
  volume: string,
  mountPoint: string,
  script: string,
  options: RunOptions & { pass?: string[] } = {},
): Promise<RunResult> {
  const pass = (options.pass ?? []).flatMap((name) => ["-e", name]);
  return docker(
    [
      "run",
      "--rm",
      "--network",
      "none",
      "--user",
      "root",
      ...pass,
      "-v",
      `${volume}:${mountPoint}:ro`,
      "--entrypoint",
      "/bin/sh",
      image,
      "-c",
      script,
    ],
    options,
  );
}

/** `docker <args>`; throws on a non-zero exit unless allowFailure is set. */
export function docker(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run("docker", args, options);
}

/**
 * Why Docker or the image cannot be used, or undefined when both are fine. Synchronous so a
 * test file can decide at collection time whether to run or skip its tests.
 */
export function dockerUnavailableReason(image: string = testImage()): string | undefined {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
      stdio: "pipe",
      timeout: 20_000,
    });
  } catch (err) {
    return `docker does not answer (${firstLine(err)}); run \`npm run env:setup\``;
  }
  try {
    execFileSync("docker", ["image", "inspect", image], { stdio: "pipe", timeout: 20_000 });
  } catch {
    return `image ${image} is missing; run \`npm run env:setup\``;
  }
  return undefined;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0];
}

/** Remove every container, volume and network carrying `label` (`key=value`). */
export async function removeByLabel(label: string): Promise<void> {
  const filter = ["--filter", `label=${label}`];
  const containers = await listIds(["ps", "-aq", ...filter]);
  if (containers.length > 0) {
    await docker(["rm", "-f", "-v", ...containers], { allowFailure: true });
  }
  const volumes = await listIds(["volume", "ls", "-q", ...filter]);
  if (volumes.length > 0) {
    await docker(["volume", "rm", "-f", ...volumes], { allowFailure: true });
  }
  const networks = await listIds(["network", "ls", "-q", ...filter]);
  if (networks.length > 0) {
    await docker(["network", "rm", ...networks], { allowFailure: true });
  }
}

async function listIds(args: readonly string[]): Promise<string[]> {
  const { stdout } = await docker(args);
  return stdout.split(/\s+/).filter((id) => id.length > 0);
}

/** `--label k=v` pairs for docker run / volume create / network create. */
export function labelArgs(labels: readonly string[]): string[] {
  return labels.flatMap((label) => ["--label", label]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A PostgreSQL 15 client tool on the host (the versioned directory first, then PATH). */
export function pgTool(name: string): string {
  const versioned = path.join("/usr/lib/postgresql/15/bin", name);
  return fs.existsSync(versioned) ? versioned : name;
}

export async function containerLogs(container: string): Promise<RunResult> {
  return docker(["logs", container], { allowFailure: true });
}

async function isRunning(container: string): Promise<boolean> {
  const { code, stdout } = await docker(["inspect", "--format", "{{.State.Running}}", container], {
    allowFailure: true,
  });
  return code === 0 && stdout.trim() === "true";
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Wait until the container's final server accepts TCP connections, checked with pg_isready
 * inside the container on 127.0.0.1. TCP matters: the temporary server that runs during
 * first-start initialisation only listens on the unix socket, so it is never mistaken for
 * the real one. Fails early, with the container's log, if the container stops.
 */
export async function waitForPostgres(container: string, options: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const probe = await docker(
      ["exec", container, "pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432", "-t", "2"],
      { allowFailure: true },
    );
    if (probe.code === 0) return;
    if (!(await isRunning(container))) {
      const logs = await containerLogs(container);
      throw new Error(
        `container ${container} stopped before PostgreSQL was ready:\n${logs.stdout}${logs.stderr}`,
      );
    }
    if (Date.now() > deadline) {
      const logs = await containerLogs(container);
      throw new Error(
        `PostgreSQL in ${container} not ready in time:\n${logs.stdout}${logs.stderr}`,
      );
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** Poll `check` until it returns true; throws `message` after the timeout. */
export async function waitUntil(
  check: () => Promise<boolean>,
  message: string,
  options: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await sleep(options.intervalMs ?? 250);
  }
}

/** Wait for a container to exit; resolves with its exit code. */
export async function waitForExit(container: string, timeoutMs = 30_000): Promise<number> {
  const { stdout } = await docker(["wait", container], { timeoutMs });
  return Number.parseInt(stdout.trim(), 10);
}

export interface PsqlTarget {
  host?: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * Run SQL with the host's psql (unaligned, tuples only, stop on error) and return the
 * trimmed output. The password goes through PGPASSWORD, never the command line.
 */
export async function psql(
  target: PsqlTarget,
  sql: string,
  options: RunOptions = {},
): Promise<string> {
  const result = await psqlResult(target, sql, options);
  return result.stdout.trim();
}

/** Like psql() but returns the whole result, e.g. to look at a refused login. */
export function psqlResult(
  target: PsqlTarget,
  sql: string,
  options: RunOptions = {},
): Promise<RunResult> {
  return run(
    pgTool("psql"),
    [
      "-X",
      "-A",
      "-t",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      target.host ?? "127.0.0.1",
      "-p",
      String(target.port),
      "-U",
      target.user,
      "-d",
      target.database,
      "-c",
      sql,
    ],
    {
      ...options,
      env: {
        PGPASSWORD: target.password,
        PGCONNECT_TIMEOUT: "5",
        PGSSLMODE: "disable",
        ...options.env,
      },
    },
  );
}

const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 in [min, max] that nothing listens on now and that this process
 * has not handed out before (the container publishing it may not be up yet).
 */
export async function freePort(min: number, max: number): Promise<number> {
  for (let port = min; port <= max; port++) {
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 in ${min}-${max}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
