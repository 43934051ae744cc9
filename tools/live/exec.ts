/** Child processes for the providers: argv only, never a shell string. */
import { spawn } from "child_process";

export interface RunOptions {
  /** Absent: the child's stdin is /dev/null (as Go's os/exec does when Stdin is nil). */
  stdin?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
}

export interface RunResult {
  code: number;
  /** Set when a signal ended the child (then `code` is 128). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order. */
  combined: string;
}

function lineSplitter(onLine: ((line: string) => void) | undefined): {
  push(chunk: string): void;
  end(): void;
} {
  let buf = "";
  return {
    push(chunk: string) {
      if (!onLine) return;
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    },
    end() {
      if (onLine && buf.length > 0) onLine(buf);
      buf = "";
    },
  };
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const base = { env: opts.env ?? process.env, cwd: opts.cwd };
    const child =
      opts.stdin === undefined
        ? spawn(cmd, args, { ...base, stdio: ["ignore", "pipe", "pipe"] })
        : spawn(cmd, args, { ...base, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let combined = "";
    const out = lineSplitter(opts.onStdoutLine);
    const err = lineSplitter(opts.onStderrLine);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (c: string) => {
      stdout += c;
      combined += c;
      out.push(c);
    });
    child.stderr.on("data", (c: string) => {
      stderr += c;
      combined += c;
      err.push(c);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      out.end();
      err.end();
      resolve({
        code: code ?? (signal ? 128 : 1),
        ...(signal ? { signal } : {}),
        stdout,
        stderr,
        combined,
      });
    });
    if (child.stdin) {
      child.stdin.on("error", () => undefined); // the child may exit without reading stdin
      child.stdin.end(opts.stdin);
    }
  });
}

export function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export class DockerError extends Error {
  constructor(
    readonly args: string[],
    readonly result: RunResult,
  ) {
    super(`docker ${args[0]} failed (exit ${result.code}): ${tail(result.stderr, 10)}`);
  }
}

/** Runs `docker <args>`; returns trimmed stdout or throws DockerError. */
export async function docker(args: string[], stdin?: string | Buffer): Promise<string> {
  const result = await run("docker", args, { stdin });
  if (result.code !== 0) throw new DockerError(args, result);
  return result.stdout.trim();
}

/** Like docker() but returns undefined when the object does not exist. */
export async function dockerInspect(args: string[]): Promise<string | undefined> {
  const result = await run("docker", args);
  if (result.code !== 0) {
    if (/no such|not found/i.test(result.stderr)) return undefined;
    throw new DockerError(args, result);
  }
  return result.stdout.trim();
}
