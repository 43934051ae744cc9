/**
 * Deployment driver on Pulumi's Automation API: the real engine and providers. Runs where the
 * Pulumi CLI and a Docker engine exist (it cannot here: no CLI, no plugins). The stack lives in
 * a local file backend in a temporary directory, with a passphrase made by the test; after
 * every `up`, a preview must report no changes.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";

import { ConfigValues, Deployment, UpResult, withTestEndpointPort } from "./deployment";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const PROJECT = "postgres-replication";

/** Why the Automation API driver cannot run here, or undefined when it can. */
export function automationUnavailableReason(): string | undefined {
  try {
    execFileSync("pulumi", ["version"], { stdio: "pipe", timeout: 30_000 });
  } catch {
    return "the Pulumi CLI is not installed (`pulumi version` fails)";
  }
  try {
    execFileSync("docker", ["info"], { stdio: "pipe", timeout: 30_000 });
  } catch {
    return "the Docker engine does not answer (`docker info` fails)";
  }
  return undefined;
}

export class AutomationDeployment implements Deployment {
  readonly kind = "automation" as const;
  private readonly workDir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-driver-"));
  private stackPromise?: Promise<Stack>;

  constructor(private readonly stackName: string) {}

  private stack(): Promise<Stack> {
    if (!this.stackPromise) {
      const stateDir = path.join(this.workDir, "state");
      fs.mkdirSync(stateDir, { recursive: true });
      this.stackPromise = LocalWorkspace.createOrSelectStack(
        { stackName: this.stackName, workDir: this.workDir },
        {
          // The program stays where it is; only stack files and state live in workDir.
          projectSettings: {
            name: PROJECT,
            runtime: { name: "nodejs", options: { typescript: true } },
            main: REPO_ROOT,
          },
          envVars: {
            PULUMI_BACKEND_URL: `file://${stateDir}`,
            PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(24).toString("hex"),
          },
        },
      );
    }
    return this.stackPromise;
  }

  async up(
    config: ConfigValues,
    opts: { refresh?: boolean; secrets?: Record<string, string> } = {},
  ): Promise<UpResult> {
    const stack = await this.stack();
    const values: Record<string, { value: string; secret?: boolean }> = {};
    for (const [key, value] of Object.entries(withTestEndpointPort(config))) {
      values[`${PROJECT}:${key}`] = {
        value: typeof value === "object" ? JSON.stringify(value) : String(value),
      };
    }
    for (const [key, value] of Object.entries(opts.secrets ?? {})) {
      values[`${PROJECT}:${key}`] = { value, secret: true };
    }
    // Replace the whole stack config, like the live harness's per-run config.
    const current = await stack.getAllConfig();
    for (const key of Object.keys(current)) {
      if (!(key in values)) await stack.removeConfig(key);
    }
    await stack.setAllConfig(values);

    const onOutput = (text: string) => process.stderr.write(text);
    if (opts.refresh) await stack.refresh({ onOutput });
    const actions: Record<string, string> = {};
    const onEvent = (event: EngineEvent) => {
      const metadata = event.resOutputsEvent?.metadata;
      if (metadata) actions[metadata.urn.split("::").pop() ?? metadata.urn] = opNameOf(metadata.op);
    };
    const result = await stack.up({ onOutput, onEvent });
    await stack.preview({ expectNoChanges: true, onOutput });

    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [name, output] of Object.entries(result.outputs)) {
      outputs[name] = output.value;
      if (output.secret) secretOutputs.push(name);
    }
    return { outputs, secretOutputs, actions };
  }

  async destroy(): Promise<void> {
    const stack = await this.stack();
    await stack.destroy({ onOutput: (text) => process.stderr.write(text) });
  }

  async dispose(): Promise<void> {
    if (this.stackPromise) {
      const stack = await this.stackPromise;
      await stack.workspace.removeStack(stack.name, { force: true });
    }
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** The engine's operation names, in the live harness's words. */
function opNameOf(op: string): string {
  switch (op) {
    case "same":
      return "same";
    case "create":
      return "create";
    case "update":
      return "update";
    case "delete":
      return "delete";
    case "replace":
    case "create-replacement":
    case "delete-replaced":
      return "replace";
    default:
      return op;
  }
}
