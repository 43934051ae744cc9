/**
 * Live harness CLI: the Pulumi CLI's verbs (`config`, `config set|get|rm`, `stack output`,
 * `preview`, `up`, `refresh`, `destroy`), so that `npm run live --` can stand where `pulumi`
 * stands in a walkthrough. See tools/live/README.md and `npm run live -- help`.
 *
 * THIS IS NOT PULUMI. It stands in for the Pulumi engine and for the docker, command and random
 * providers, so that the unchanged Pulumi program can be run against a real Docker engine on a
 * machine where the Pulumi CLI and its plugins cannot be installed. It uses Pulumi's mock
 * runtime to run the program, and creates the resources for real with the docker CLI and child
 * processes. Differences from real Pulumi are listed in tools/live/README.md.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { Args, parseArgs, usage, UsageError, verbUsage } from "./args";
import { ConfigEntry, loadConfig, readProject, StackSettings } from "./config";
import { Approval, deletionOrder, Engine } from "./engine";
import { errorMessage, planLine, say, warn } from "./log";
import { PassphraseError } from "./passphrase";
import type { ProgramResult } from "./program";
import { redactor } from "./secrets";
import { ConfigError, goJson, prettyKey } from "./stackfile";
import { StateStore } from "./state";
import { GUARDED_TYPES, Json, PlanEntry, shortType } from "./types";

const REPO_ROOT = path.resolve(__dirname, "../..");

interface Context {
  args: Args;
  programDir: string;
  project: string;
  main?: string;
  stateDir: string;
}

/* ------------------------------------------------------------------------------------------ */
/* Messages                                                                                    */

/** `npm run live -- <verb> ...` with the flags that select this stack, for "run this next". */
function command(ctx: Context, verb: string, extra: string[] = []): string {
  const words = ["npm run live --", verb, ...extra];
  if (ctx.args.stack !== "dev") words.push("--stack", ctx.args.stack);
  if (ctx.args.program !== undefined) words.push("--program", ctx.args.program);
  if (ctx.args.stateDir !== undefined) words.push("--state-dir", ctx.args.stateDir);
  return "`" + words.join(" ") + "`";
}

/** An error that already says what to do next; printed as it is. */
class Failure extends Error {}

function banner(ctx: Context, verb: string): void {
  say(
    `live harness (stands in for Pulumi; not the Pulumi CLI): ${verb} ${ctx.project}/${ctx.args.stack}`,
  );
}

/* ------------------------------------------------------------------------------------------ */
/* Output formats of the CLI                                                                   */

/** Go's json encoder without HTML escaping: keys sorted; indented by two spaces, or one line. */
function cliJson(v: Json, multiline: boolean): string {
  const sorted = JSON.parse(goJson(v)) as Json;
  const text = multiline ? JSON.stringify(sorted, null, 2) : JSON.stringify(sorted);
  return multiline ? text + "\n" : text;
}

/** cmdutil.Table: columns padded to the widest cell, two spaces apart, optional prefix. */
function table(headers: string[], rows: string[][], prefix = ""): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all
    .map((r) => prefix + r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i] + 2) : c)).join(""))
    .map((l) => l + "\n")
    .join("");
}

function write(text: string): void {
  process.stdout.write(text);
}

/* ------------------------------------------------------------------------------------------ */
/* config                                                                                      */

function settings(ctx: Context): StackSettings {
  return new StackSettings(ctx.programDir, ctx.project, ctx.args.stack);
}

function entryJson(e: ConfigEntry, show: boolean): Json {
  const hide = e.secret && !show;
  return {
    ...(hide ? {} : { value: e.text }),
    ...(e.object && !hide ? { objectValue: e.objectValue ?? null } : {}),
    secret: e.secret,
  };
}

async function readValue(secret: boolean): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    return text.endsWith("\n") ? text.slice(0, -1) : text;
  }
  return ask(secret ? "value (shown as you type): " : "value: ");
}

function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    }),
  );
}

async function configCommand(ctx: Context): Promise<number> {
  const a = ctx.args;
  const s = settings(ctx);
  switch (a.verb) {
    case "config": {
      const list = s.list(a.showSecrets);
      if (a.json) {
        const body: Record<string, Json> = {};
        for (const e of list) body[e.key] = entryJson(e, a.showSecrets);
        write(cliJson(body, true));
      } else {
        write(
          table(
            ["KEY", "VALUE"],
            list.map((e) => [prettyKey(ctx.project, e.key), e.text]),
          ),
        );
      }
      return 0;
    }
    case "config get": {
      const e = s.get(a.positional[0], { path: a.path });
      if (!e) {
        throw new Failure(
          `configuration key '${a.positional[0]}' not found for stack '${a.stack}' ` +
            `(${s.fileName}); set it with ${command(ctx, "config set", [a.positional[0], "VALUE"])}`,
        );
      }
      write(a.json ? cliJson(entryJson(e, true), true) : `${e.text}\n`);
      return 0;
    }
    case "config set": {
      const value = a.positional.length > 1 ? a.positional[1] : await readValue(a.secret);
      s.set(a.positional[0], value, { secret: a.secret, path: a.path });
      s.save();
      return 0;
    }
    case "config rm": {
      s.remove(a.positional[0], { path: a.path });
      s.save();
      return 0;
    }
    default:
      throw new Error(`not a config verb: ${a.verb}`);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* stack output                                                                                */

function stackOutput(ctx: Context): number {
  const a = ctx.args;
  const store = new StateStore(ctx.stateDir, a.stack);
  const state = store.exists() ? store.load(ctx.project) : undefined;
  const outputs = state?.stackOutputs ?? {};
  const secret = new Set(state?.stackSecretOutputs ?? []);
  const shown = (k: string): Json => (secret.has(k) && !a.showSecrets ? "[secret]" : outputs[k]);
  const name = a.positional[0];
  if (name !== undefined) {
    if (!(name in outputs)) {
      throw new Failure(
        `current stack does not have output property '${name}'` +
          (state?.stackOutputs
            ? ` (it has: ${Object.keys(outputs).sort().join(", ") || "none"})`
            : `: stack ${a.stack} has no outputs yet; run ${command(ctx, "up")} first`),
      );
    }
    const v = shown(name);
    write(a.json ? cliJson(v, true) : `${typeof v === "string" ? v : cliJson(v, false)}\n`);
    return 0;
  }
  const keys = Object.keys(outputs).sort();
  if (a.json) {
    const body: Record<string, Json> = {};
    for (const k of keys) body[k] = shown(k);
    write(cliJson(body, true));
    return 0;
  }
  write(`Current stack outputs (${keys.length}):\n`);
  if (keys.length === 0) {
    write("    No output values currently in this stack\n");
    return 0;
  }
  const rows = keys.map((k) => {
    const v = shown(k);
    return [k, typeof v === "string" ? v : cliJson(v, false)];
  });
  write(table(["OUTPUT", "VALUE"], rows, "    "));
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* preview / up / refresh / destroy                                                            */

function loadStackConfig(ctx: Context) {
  const a = ctx.args;
  const cfg = loadConfig(ctx.programDir, ctx.project, a.stack, a.overrides, a.secrets);
  for (const k of cfg.secretKeys) redactor.add(cfg.config[k]);
  return cfg;
}

async function runWith(
  ctx: Context,
  engine: Engine,
): Promise<{ result: ProgramResult; errors: string[] }> {
  const cfg = loadStackConfig(ctx);
  process.on("unhandledRejection", () => {
    // Rejected resource outputs; the engine and the output resolution report the errors.
  });
  if (ctx.args.refresh) await engine.refresh();
  // Loaded here: the Pulumi SDK takes a while to load, and config verbs do not need it.
  const { programEntry, runProgram } = await import("./program");
  const result = await runProgram({
    entry: programEntry(ctx.programDir, ctx.main),
    project: ctx.project,
    stack: ctx.args.stack,
    config: cfg.config,
    secretKeys: cfg.secretKeys,
    engine,
    preview: engine.preview,
  });
  const programErrors = result.programErrors.filter(
    (e) => !engine.failures.some((f) => e.includes(f)) && !e.includes("not attempted because"),
  );
  if (!engine.failed && programErrors.length === 0) await engine.finishUp();
  return { result, errors: [...engine.failures, ...programErrors] };
}

interface PlanFile {
  ok: boolean;
  entries: PlanEntry[];
  errors: string[];
}

async function preview(ctx: Context): Promise<number> {
  const a = ctx.args;
  if (!a.planOut) banner(ctx, "preview");
  const store = new StateStore(ctx.stateDir, a.stack);
  const engine = new Engine(store, store.load(ctx.project), { preview: true });
  say(`Previewing update (${a.stack}):`);
  const { errors } = await runWith(ctx, engine);
  if (errors.length === 0) say(engine.planSummary());
  for (const e of errors) warn(`error: ${e}`);
  if (a.planOut) {
    const body: PlanFile = { ok: errors.length === 0, entries: engine.plan, errors };
    fs.writeFileSync(a.planOut, JSON.stringify(body), { mode: 0o600 });
  }
  if (errors.length > 0 && !a.planOut) {
    warn(
      `The preview failed; nothing was changed. Fix the cause above, then run ${command(ctx, "preview")} again.`,
    );
  }
  return errors.length > 0 ? 1 : 0;
}

/** Runs the preview of an update in a child process (one program run per process). */
async function previewInChild(ctx: Context): Promise<PlanFile> {
  const a = ctx.args;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "live-plan-"));
  const planFile = path.join(dir, "plan.json");
  const argv = [
    "-r",
    require.resolve("ts-node/register/transpile-only"),
    __filename,
    "preview",
    "--stack",
    a.stack,
    "--program",
    ctx.programDir,
    "--state-dir",
    ctx.stateDir,
    "--plan-out",
    planFile,
    ...(a.refresh ? ["--refresh"] : []),
    ...a.overrides,
    ...a.secrets.flatMap((s) => ["--secret", s]),
  ];
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, argv, {
        cwd: REPO_ROOT,
        env: process.env,
        stdio: ["ignore", "inherit", "inherit"],
      });
      child.on("error", reject);
      child.on("close", (c) => resolve(c ?? 1));
    });
    if (!fs.existsSync(planFile)) {
      return { ok: false, entries: [], errors: [`the preview exited with code ${code}`] };
    }
    return JSON.parse(fs.readFileSync(planFile, "utf8")) as PlanFile;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Guarded objects (Containers, Volumes) the plan deletes or replaces, or may replace. */
function destructive(entries: PlanEntry[]): PlanEntry[] {
  return entries.filter(
    (e) => GUARDED_TYPES.includes(e.type) && (e.action === "delete" || e.action === "replace"),
  );
}

function describeDestructive(list: PlanEntry[]): string {
  return list
    .map(
      (e) =>
        `${shortType(e.type)} ${e.name} (${e.uncertain ? "may be replaced" : e.action === "delete" ? "deleted" : "replaced"})`,
    )
    .join(", ");
}

/**
 * Asks before guarded objects are deleted or replaced: on a terminal it asks, otherwise it
 * refuses unless --yes was given. Returns the approval for the run, or undefined to stop.
 */
async function confirm(
  ctx: Context,
  entries: PlanEntry[],
  what: "update" | "destroy",
): Promise<Approval | undefined> {
  const a = ctx.args;
  if (a.yes) return "all";
  const risky = destructive(entries);
  if (risky.length === 0) return new Set<string>();
  const list = describeDestructive(risky);
  if (!process.stdin.isTTY || a.nonInteractive) {
    warn(
      `error: this ${what} would delete or replace ${risky.length} Docker object(s) that may hold ` +
        `data: ${list}. ${a.nonInteractive ? "With --non-interactive" : "Standard input is not a terminal, so"} ` +
        `there is no one to ask: nothing was changed. Run ${command(ctx, what === "update" ? "up" : "destroy", ["--yes"])} to go ahead.`,
    );
    return undefined;
  }
  const answer = await ask(
    `This ${what} deletes or replaces ${list}.\nDo you want to perform this ${what}? [yes/no] `,
  );
  if (!/^(y|yes)$/i.test(answer.trim())) {
    warn(`confirmation declined, not proceeding with the ${what}: nothing was changed`);
    return undefined;
  }
  return new Set(risky.map((e) => e.urn));
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

function writeOutputsJson(
  file: string,
  engine: Engine | undefined,
  result: ProgramResult | undefined,
  errors: string[],
) {
  // Per resource the last action of this run (a refresh-drop followed by a create is a create).
  const last = new Map<string, { type: string; name: string; action: string }>();
  for (const a of engine?.actions ?? []) last.set(a.urn, a);
  const all = [...last.values()];
  const actions: Record<string, string> = {};
  for (const a of all) {
    const dup = all.filter((x) => x.name === a.name).length > 1;
    actions[dup ? `${a.type.split(":").pop()}:${a.name}` : a.name] = a.action;
  }
  const body: Record<string, Json> = {
    outputs: result?.outputs ?? {},
    secretOutputs: result?.secretOutputs ?? [],
    actions,
    resources: (engine?.actions ?? []).map((a) => ({ ...a })),
    errors: errors.map((e) => redactor.redact(e)),
  };
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(body, null, 2) + "\n", { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

async function up(ctx: Context): Promise<number> {
  const a = ctx.args;
  const t0 = Date.now();
  banner(ctx, "up");
  // Configuration problems (a wrong passphrase, ...) stop here, before the preview.
  loadStackConfig(ctx);
  let approved: Approval = a.yes ? "all" : new Set<string>();
  if (!a.skipPreview) {
    const plan = await previewInChild(ctx);
    if (!plan.ok) {
      if (a.outputsJson) writeOutputsJson(a.outputsJson, undefined, undefined, plan.errors);
      throw new Failure(
        `The preview failed, so nothing was changed. Fix the cause above, then run ${command(ctx, "up")} again.`,
      );
    }
    const decided = await confirm(ctx, plan.entries, "update");
    if (decided === undefined) {
      if (a.outputsJson) {
        writeOutputsJson(a.outputsJson, undefined, undefined, [
          "not confirmed: nothing was changed",
        ]);
      }
      return 1;
    }
    approved = decided;
  }
  const store = new StateStore(ctx.stateDir, a.stack);
  const engine = new Engine(store, store.load(ctx.project), {
    approved,
    confirmHint: `run ${command(ctx, "up")} (it previews and asks), or add --yes`,
  });
  say(`Updating (${a.stack}):`);
  const { result, errors } = await runWith(ctx, engine);
  if (errors.length === 0) {
    engine.state.stackOutputs = result.outputs;
    engine.state.stackSecretOutputs = result.secretOutputs;
    store.save(engine.state);
  }
  say(engine.summary() + ` (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  if (errors.length === 0) printOutputs(result);
  for (const e of errors) warn(`error: ${e}`);
  if (a.outputsJson) writeOutputsJson(a.outputsJson, engine, result, errors);
  if (errors.length > 0) {
    warn(
      `The update failed; what it completed is recorded in the state. Fix the cause above, then ` +
        `run ${command(ctx, "up")} again (${command(ctx, "preview")} shows what is left to do).`,
    );
    return 1;
  }
  return 0;
}

async function refresh(ctx: Context): Promise<number> {
  const t0 = Date.now();
  banner(ctx, "refresh");
  const store = new StateStore(ctx.stateDir, ctx.args.stack);
  const engine = new Engine(store, store.load(ctx.project));
  say(`Refreshing (${ctx.args.stack}):`);
  try {
    await engine.refresh();
  } catch (e) {
    throw new Failure(
      `error: refresh failed: ${errorMessage(e)}\nWhat it read so far is saved; run ${command(ctx, "refresh")} again.`,
    );
  }
  const total = Object.keys(engine.state.resources).length;
  const count = (x: string) => engine.actions.filter((r) => r.action === x).length;
  say(
    `Resources: ${count("refresh")} changed by refresh, ${count("refresh-drop")} dropped ` +
      `(gone from Docker), ${total - count("refresh")} unchanged ` +
      `(${((Date.now() - t0) / 1000).toFixed(1)}s)`,
  );
  return 0;
}

async function destroy(ctx: Context): Promise<number> {
  const a = ctx.args;
  const t0 = Date.now();
  banner(ctx, "destroy");
  const store = new StateStore(ctx.stateDir, a.stack);
  // Secret config is masked in what delete commands print, as on up.
  loadStackConfig(ctx);
  const state = store.load(ctx.project);
  const doomed = [...state.pendingDeletes]
    .reverse()
    .concat(deletionOrder(Object.values(state.resources)));
  say(`Previewing destroy (${a.stack}):`);
  const entries: PlanEntry[] = doomed.map((r) => ({
    urn: r.urn,
    type: r.type,
    name: r.name,
    action: "delete",
    changed: [],
  }));
  for (const e of entries) planLine(e);
  say(`Plan: ${entries.length} to delete`);
  let approved: Approval = "all";
  if (entries.length > 0) {
    const decided = await confirm(ctx, entries, "destroy");
    if (decided === undefined) return 1;
    approved = decided;
  }
  const engine = new Engine(store, state, {
    approved,
    confirmHint: `run ${command(ctx, "destroy")} again (it asks), or add --yes`,
  });
  say(`Destroying (${a.stack}):`);
  await engine.destroyAll();
  if (!engine.failed) store.remove();
  say(engine.summary() + ` (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  for (const f of engine.failures) warn(`error: ${f}`);
  if (engine.failed) {
    warn(
      `The destroy failed; what is left is still in the state. Fix the cause above, then run ` +
        `${command(ctx, "destroy")} again.`,
    );
    return 1;
  }
  say(
    `The resources of stack ${a.stack} are deleted, and so are its harness state files; ` +
      `its configuration (Pulumi.${a.stack}.yaml) is kept.`,
  );
  return 0;
}

/* ------------------------------------------------------------------------------------------ */

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      warn(`error: ${e.message}\n\n${usage()}`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    say(argv.length > 1 ? verbUsage(args.verb) : usage());
    return 0;
  }
  const programDir = path.resolve(args.program ?? REPO_ROOT);
  const project = readProject(programDir);
  const ctx: Context = {
    args,
    programDir,
    project: project.name,
    main: project.main,
    stateDir: path.resolve(args.stateDir ?? path.join(programDir, ".live-state")),
  };
  switch (args.verb) {
    case "config":
    case "config set":
    case "config get":
    case "config rm":
      return configCommand(ctx);
    case "stack output":
      return stackOutput(ctx);
    case "preview":
      return preview(ctx);
    case "up":
      return up(ctx);
    case "refresh":
      return refresh(ctx);
    case "destroy":
      return destroy(ctx);
  }
}

let finished = false;
process.on("beforeExit", () => {
  if (finished) return;
  warn("error: the program left promises that never settle (the run cannot complete)");
  process.exit(1);
});

function report(e: unknown): void {
  if (e instanceof Failure)
    warn(e.message.startsWith("error:") ? e.message : `error: ${e.message}`);
  else if (e instanceof PassphraseError || e instanceof ConfigError) warn(`error: ${e.message}`);
  else warn(`error: ${errorMessage(e)}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exit(code);
  },
  (e: unknown) => {
    finished = true;
    report(e);
    process.exit(1);
  },
);
