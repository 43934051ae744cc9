/** Stand-in for the command provider's `command:local:Command` (pulumi-command v1.2.1). */
import * as crypto from "crypto";
import * as fs from "fs";
import { run, RunResult } from "../exec";
import { goQuote } from "../gofmt";
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

/** What Go's syscall.Signal.String() prints on Linux, for `signal: ...` exit errors. */
const GO_SIGNAL_NAMES: Partial<Record<NodeJS.Signals, string>> = {
  SIGHUP: "hangup",
  SIGINT: "interrupt",
  SIGQUIT: "quit",
  SIGILL: "illegal instruction",
  SIGTRAP: "trace/breakpoint trap",
  SIGABRT: "aborted",
  SIGBUS: "bus error",
  SIGFPE: "floating point exception",
  SIGKILL: "killed",
  SIGUSR1: "user defined signal 1",
  SIGSEGV: "segmentation fault",
  SIGUSR2: "user defined signal 2",
  SIGPIPE: "broken pipe",
  SIGALRM: "alarm clock",
  SIGTERM: "terminated",
};

function str(v: Json | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

interface Output {
  stdout: string;
  stderr: string;
}

/** Go's exec error text for a finished child: `exit status N` or `signal: NAME`. */
function exitText(r: RunResult): string {
  if (r.signal) return `signal: ${GO_SIGNAL_NAMES[r.signal] ?? r.signal}`;
  return `exit status ${r.code}`;
}

/** Go's error text when the child cannot be started at all. */
function startFailure(program: string, dir: string | undefined, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (dir !== undefined && !fs.existsSync(dir)) return `chdir ${dir}: no such file or directory`;
  if (!program.includes("/"))
    return `exec: ${goQuote(program)}: executable file not found in $PATH`;
  const reason = code === "EACCES" ? "permission denied" : "no such file or directory";
  return `fork/exec ${program}: ${reason}`;
}

/**
 * pulumi-command's `run` (local/commandOutputs.go): the previous stdout/stderr go into the
 * environment only when non-empty, stdin only when non-empty, and a failure is reported as
 * `<exit error>: running <%q of the command>:\n<stdout and stderr>` whatever `logging` says.
 */
async function runCommand(
  ctx: OpContext,
  command: string,
  inputs: PropMap,
  previous: Output,
): Promise<Output> {
  const interpreter =
    Array.isArray(inputs.interpreter) && inputs.interpreter.length > 0
      ? inputs.interpreter.map(String)
      : ["/bin/sh", "-c"];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (isObject(inputs.environment)) {
    for (const [k, v] of Object.entries(inputs.environment)) env[k] = String(v);
  }
  if (inputs.addPreviousOutputInEnv !== false) {
    if (previous.stdout !== "") env.PULUMI_COMMAND_STDOUT = previous.stdout;
    if (previous.stderr !== "") env.PULUMI_COMMAND_STDERR = previous.stderr;
  }
  const logging = str(inputs.logging) ?? "stdoutAndStderr";
  const showOut = logging === "stdout" || logging === "stdoutAndStderr";
  const showErr = logging === "stderr" || logging === "stdoutAndStderr";
  const stdin = str(inputs.stdin);
  const dir = str(inputs.dir);
  let result: RunResult;
  try {
    result = await run(interpreter[0], [...interpreter.slice(1), command], {
      env,
      cwd: dir,
      stdin: stdin ? stdin : undefined,
      onStdoutLine: showOut ? (l) => ctx.print(l) : undefined,
      onStderrLine: showErr ? (l) => ctx.print(l) : undefined,
    });
  } catch (e) {
    throw new Error(`${startFailure(interpreter[0], dir, e)}: running ${goQuote(command)}:\n`);
  }
  if (result.code !== 0 || result.signal) {
    throw new Error(`${exitText(result)}: running ${goQuote(command)}:\n${result.combined}`);
  }
  const chomp = (s: string) => (s.endsWith("\n") ? s.slice(0, -1) : s);
  return { stdout: chomp(result.stdout), stderr: chomp(result.stderr) };
}

function previousOutput(outputs: PropMap): Output {
  return { stdout: str(outputs.stdout) ?? "", stderr: str(outputs.stderr) ?? "" };
}

export const commandProvider: Provider = {
  check(inputs) {
    rejectUnsupported("Command", inputs, SUPPORTED);
    const logging = inputs.logging;
    if (logging !== undefined && logging !== null && !LOGGING.includes(String(logging))) {
      throw new Error(`Command: logging must be one of ${LOGGING.join(", ")}`);
    }
  },

  async create(ctx, inputs): Promise<CreateResult> {
    const script = str(inputs.create);
    const empty = { stdout: "", stderr: "" };
    const out = script ? await runCommand(ctx, script, inputs, empty) : empty;
    return { id: crypto.randomBytes(8).toString("hex"), outputs: { ...inputs, ...out } };
  },

  async update(ctx, old: ResourceState, inputs): Promise<CreateResult> {
    const script = str(inputs.update) ?? str(inputs.create);
    const previous = previousOutput(old.outputs);
    // Without a command to run, the provider keeps the previous stdout/stderr.
    const out = script ? await runCommand(ctx, script, inputs, previous) : previous;
    return { id: old.id, outputs: { ...inputs, ...out } };
  },

  async delete(ctx, old) {
    const script = str(old.inputs.delete);
    if (script) await runCommand(ctx, script, old.inputs, previousOutput(old.outputs));
  },

  recomputedOnUpdate: ["stdout", "stderr"],
  requiresReplace: (changed) => changed.includes("triggers"),
  // go-provider's Diff never asks for delete-before-replace.
  deleteBeforeReplace: () => false,
};
