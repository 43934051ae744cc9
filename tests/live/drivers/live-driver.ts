/**
 * Deployment driver that runs the live harness (tools/live, a stand-in for the Pulumi engine and
 * providers) as a child process, one process per `up --yes`/`destroy --yes` like the Pulumi CLI.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigValues, Deployment, UpResult, withTestEndpointPort } from "./deployment";

const REPO_ROOT = path.resolve(__dirname, "../../..");

export interface LiveDeploymentOptions {
  /** Directory with Pulumi.yaml and index.ts; default: the repository root. */
  programDir?: string;
  /** Stack name; `Pulumi.<stack>.yaml` in the program dir is the base config if it exists. */
  stack?: string;
  /** Where harness output goes (it is secret-free); default: this process's stderr. */
  log?: (text: string) => void;
}

function configArg(key: string, value: string | number | boolean | object): string {
  const v = typeof value === "object" ? JSON.stringify(value) : String(value);
  return `${key}=${v}`;
}

/**
 * What a failed run reports: its last lines, and at least its whole summary from "Resources:"
 * on, which holds every failed resource's error (as the CLI's diagnostics do).
 */
function summary(output: string): string {
  const lines = output.trimEnd().split("\n");
  const resources = lines.map((l) => l.startsWith("Resources:")).lastIndexOf(true);
  const start = Math.max(0, lines.length - 25);
  return lines.slice(resources >= 0 ? Math.min(resources, start) : start).join("\n");
}

export class LiveDeployment implements Deployment {
  readonly kind = "live" as const;
  readonly programDir: string;
  readonly stack: string;
  readonly workDir: string;
  readonly stateDir: string;
  /** Everything the harness printed, all runs (for tests that check it). */
  output = "";
  private readonly log: (text: string) => void;

  constructor(opts: LiveDeploymentOptions = {}) {
    this.programDir = path.resolve(opts.programDir ?? REPO_ROOT);
    this.stack = opts.stack ?? `live-${process.pid}-${Date.now().toString(36)}`;
    this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), "live-driver-"));
    this.stateDir = path.join(this.workDir, "state");
    this.log = opts.log ?? ((t) => process.stderr.write(t));
  }

  get stateFile(): string {
    return path.join(this.stateDir, `${this.stack}.json`);
  }

  private run(args: string[]): Promise<void> {
    const argv = [
      "-r",
      "ts-node/register/transpile-only",
      path.join(REPO_ROOT, "tools/live/cli.ts"),
      ...args,
    ];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, env: process.env });
      let mine = "";
      const onData = (chunk: Buffer) => {
        const text = chunk.toString("utf8");
        mine += text;
        this.output += text;
        this.log(text);
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("error", reject);
      child.on("close", (code) => {
        if (code === 0) resolve();
        else {
          reject(new Error(`live harness ${args[0]} exited with code ${code}:\n${summary(mine)}`));
        }
      });
    });
  }

  private common(): string[] {
    return ["--program", this.programDir, "--stack", this.stack, "--state-dir", this.stateDir];
  }

  async up(
    config: ConfigValues,
    opts: { refresh?: boolean; secrets?: Record<string, string> } = {},
  ): Promise<UpResult> {
    const outFile = path.join(this.workDir, "outputs.json");
    fs.rmSync(outFile, { force: true });
    // --yes: deletes and replacements go ahead without asking, as before the harness asked;
    // --skip-preview: no dry run first, so runs (and the benchmark's timings) stay as they were.
    const args = ["up", "--yes", "--skip-preview", ...this.common(), "--outputs-json", outFile];
    if (opts.refresh) args.push("--refresh");
    for (const [k, v] of Object.entries(withTestEndpointPort(config))) args.push(configArg(k, v));
    for (const [k, v] of Object.entries(opts.secrets ?? {})) args.push("--secret", `${k}=${v}`);
    await this.run(args);
    const body = JSON.parse(fs.readFileSync(outFile, "utf8")) as UpResult;
    return { outputs: body.outputs, secretOutputs: body.secretOutputs, actions: body.actions };
  }

  async destroy(): Promise<void> {
    await this.run(["destroy", "--yes", ...this.common()]);
  }

  async dispose(): Promise<void> {
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}
