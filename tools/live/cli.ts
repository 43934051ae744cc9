/**
 * Live harness CLI: `npm run live -- up|destroy [--stack NAME] [--refresh] [--state-dir DIR]
 *   [--outputs-json FILE] [--program DIR] [key=value ...] [--secret key=value ...]`
 *
 * THIS IS NOT PULUMI. It stands in for the Pulumi engine and for the docker, command and random
 * providers, so that the unchanged Pulumi program can be run against a real Docker engine on a
 * machine where the Pulumi CLI and its plugins cannot be installed. It uses Pulumi's mock
 * runtime to run the program, and creates the resources for real with the docker CLI and child
 * processes. Differences from real Pulumi are listed in tools/live/README.md (no preview, no
 * plugins, a subset of provider inputs, simplified diffs and replacement ordering, ...).
 */
import * as fs from "fs";
import * as path from "path";
import { loadConfig, readProject } from "./config";
import { Engine } from "./engine";
import { errorMessage, say, warn } from "./log";
import { programEntry, ProgramResult, runProgram } from "./program";
import { redactor } from "./secrets";
import { StateStore } from "./state";
import { Json } from "./types";

interface Args {
  command: "up" | "destroy";
  stack: string;
  refresh: boolean;
  stateDir?: string;
  outputsJson?: string;
  program: string;
  overrides: string[];
  secrets: string[];
}

const USAGE =
  "usage: npm run live -- up|destroy [--stack NAME] [--refresh] [--state-dir DIR] " +
  "[--outputs-json FILE] [--program DIR] [key=value ...] [--secret key=value ...]";

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command !== "up" && command !== "destroy") throw new Error(USAGE);
  const args: Args = {
    command,
    stack: "dev",
    refresh: false,
    program: ".",
    overrides: [],
    secrets: [],
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "--stack") args.stack = value();
    else if (a === "--refresh") args.refresh = true;
    else if (a === "--state-dir") args.stateDir = value();
    else if (a === "--outputs-json") args.outputsJson = value();
    else if (a === "--program") args.program = value();
    else if (a === "--secret") args.secrets.push(value());
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}\n${USAGE}`);
    else args.overrides.push(a);
  }
  return args;
}

function printOutputs(result: ProgramResult): void {
  const keys = Object.keys(result.outputs).sort();
  if (keys.length === 0) return;
  say("Outputs:");
  for (const k of keys) {
    const shown = result.secretOutputs.includes(k) ? "[secret]" : JSON.stringify(result.outputs[k]);
    say(`    ${k}: ${shown}`);
  }
}

function writeOutputsJson(file: string, engine: Engine, result: ProgramResult, errors: string[]) {
  // Per resource the last action of this run (a refresh-drop followed by a create is a create).
  const last = new Map<string, { type: string; name: string; action: string }>();
  for (const a of engine.actions) last.set(a.urn, a);
  const all = [...last.values()];
  const actions: Record<string, string> = {};
  for (const a of all) {
    const dup = all.filter((x) => x.name === a.name).length > 1;
    actions[dup ? `${a.type.split(":").pop()}:${a.name}` : a.name] = a.action;
  }
  const body: Record<string, Json> = {
    outputs: result.outputs,
    secretOutputs: result.secretOutputs,
    actions,
    resources: engine.actions.map((a) => ({ ...a })),
    errors: errors.map((e) => redactor.redact(e)),
  };
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(body, null, 2) + "\n", { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const programDir = path.resolve(args.program);
  const project = readProject(programDir);
  const stateDir = path.resolve(args.stateDir ?? path.join(programDir, ".live-state"));
  const store = new StateStore(stateDir, args.stack);
  const engine = new Engine(store, store.load(project.name));
  const t0 = Date.now();
  say(
    `live harness (stands in for Pulumi; not the Pulumi CLI): ${args.command} ${project.name}/${args.stack}`,
  );

  if (args.command === "destroy") {
    // Secret config given on the command line is masked here as on `up`.
    for (const a of args.secrets) redactor.add(a.slice(a.indexOf("=") + 1));
    await engine.destroyAll();
    if (!engine.failed) store.remove();
    say(engine.summary() + ` (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    for (const f of engine.failures) warn(`error: ${f}`);
    return engine.failed ? 1 : 0;
  }

  const { config, secretKeys } = loadConfig(
    programDir,
    project.name,
    args.stack,
    args.overrides,
    args.secrets,
  );
  for (const k of secretKeys) redactor.add(config[k]);
  process.on("unhandledRejection", () => {
    // Rejected resource outputs; the engine and the output resolution report the errors.
  });
  if (args.refresh) await engine.refresh();
  const result = await runProgram({
    entry: programEntry(programDir, project.main),
    project: project.name,
    stack: args.stack,
    config,
    secretKeys,
    engine,
  });
  const programErrors = result.programErrors.filter(
    (e) => !engine.failures.some((f) => e.includes(f)) && !e.includes("not attempted because"),
  );
  if (!engine.failed && programErrors.length === 0) await engine.finishUp();
  const errors = [...engine.failures, ...programErrors];
  say(engine.summary() + ` (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  if (errors.length === 0) printOutputs(result);
  for (const e of errors) warn(`error: ${e}`);
  if (args.outputsJson) writeOutputsJson(args.outputsJson, engine, result, errors);
  return errors.length > 0 ? 1 : 0;
}

let finished = false;
process.on("beforeExit", () => {
  if (finished) return;
  warn("error: the program left promises that never settle (the run cannot complete)");
  process.exit(1);
});

main().then(
  (code) => {
    finished = true;
    process.exit(code);
  },
  (e: unknown) => {
    finished = true;
    warn(`error: ${errorMessage(e)}`);
    process.exit(1);
  },
);
