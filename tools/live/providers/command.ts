/** Stand-in for the command provider's `command:local:Command`. */
import * as crypto from "crypto";
import { run, tail } from "../exec";
import { isObject, Json, PropMap, ResourceState } from "../types";
import { CreateResult, OpContext, Provider, rejectUnsupported } from "./types";

const SUPPORTED = [
  "create",
  "update",
  "delete",
  "environment",
  "dir",
  "interpreter",
  "stdin",
  "triggers",
  "logging",
  "addPreviousOutputInEnv",
];

const LOGGING = ["stdout", "stderr", "stdoutAndStderr", "none"];

function str(v: Json | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

async function runScript(
  ctx: OpContext,
  op: "create" | "update" | "delete",
  script: string,
  inputs: PropMap,
  previous: PropMap | undefined,
): Promise<{ stdout: string; stderr: string }> {
  const interpreter = Array.isArray(inputs.interpreter)
    ? inputs.interpreter.map(String)
    : ["/bin/sh", "-c"];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (isObject(inputs.environment)) {
    for (const [k, v] of Object.entries(inputs.environment)) env[k] = String(v);
  }
  if (previous && inputs.addPreviousOutputInEnv !== false) {
    env.PULUMI_COMMAND_STDOUT = str(previous.stdout) ?? "";
    env.PULUMI_COMMAND_STDERR = str(previous.stderr) ?? "";
  }
  const logging = str(inputs.logging) ?? "stdoutAndStderr";
  const showOut = logging === "stdout" || logging === "stdoutAndStderr";
  const showErr = logging === "stderr" || logging === "stdoutAndStderr";
  const result = await run(interpreter[0], [...interpreter.slice(1), script], {
    env,
    cwd: str(inputs.dir),
    stdin: str(inputs.stdin),
    onStdoutLine: showOut ? (l) => ctx.print(l) : undefined,
    onStderrLine: showErr ? (l) => ctx.print(l) : undefined,
  });
  if (result.code !== 0) {
    const detail =
      logging === "none"
        ? " (output not shown: logging is none)"
        : `; stderr (last lines):\n${tail(result.stderr)}`;
    throw new Error(`${op} exited with code ${result.code}${detail}`);
  }
  return { stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

function outputsOf(inputs: PropMap, out: { stdout: string; stderr: string }): PropMap {
  return { ...inputs, stdout: out.stdout, stderr: out.stderr };
}

/** Conservative: a command with any secret input gets secret stdout/stderr. */
function secretOutputs(secretInputs: string[]): string[] {
  return secretInputs.length > 0 ? ["stdout", "stderr"] : [];
}

export const commandProvider: Provider = {
  check(inputs) {
    rejectUnsupported("Command", inputs, SUPPORTED);
    const logging = inputs.logging;
    if (logging !== undefined && logging !== null && !LOGGING.includes(String(logging))) {
      throw new Error(`Command: logging must be one of ${LOGGING.join(", ")}`);
    }
  },

  async create(ctx, inputs, secretInputs): Promise<CreateResult> {
    const script = str(inputs.create);
    const out = script
      ? await runScript(ctx, "create", script, inputs, undefined)
      : { stdout: "", stderr: "" };
    return {
      id: crypto.randomBytes(8).toString("hex"),
      outputs: outputsOf(inputs, out),
      derivedSecretOutputs: secretOutputs(secretInputs),
    };
  },

  async update(ctx, old: ResourceState, inputs, secretInputs): Promise<CreateResult> {
    const script = str(inputs.update) ?? str(inputs.create);
    const out = script
      ? await runScript(ctx, "update", script, inputs, old.outputs)
      : { stdout: "", stderr: "" };
    return {
      id: old.id,
      outputs: outputsOf(inputs, out),
      derivedSecretOutputs: secretOutputs(secretInputs),
    };
  },

  async delete(ctx, old) {
    const script = str(old.inputs.delete);
    if (script) await runScript(ctx, "delete", script, old.inputs, old.outputs);
  },

  requiresReplace: (changed) => changed.includes("triggers"),
  deleteBeforeReplace: () => true,
};
