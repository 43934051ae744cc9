/**
 * Runs the unchanged Pulumi program in this process against the engine: installs Pulumi's mock
 * runtime, replaces the mock monitor's registerResource with one that hands the full
 * registration request (inputs with secretness, dependencies, resource options) to the engine,
 * then requires the program and resolves its exports as stack outputs.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Engine, Registration } from "./engine";
import { errorMessage } from "./log";
import { isObject, Json, PropMap } from "./types";

const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

type Callback<T> = (err: Error | null, resp: T | undefined) => void;

/** The parts of Pulumi's MockMonitor (runtime/mocks.js) this harness replaces or uses. */
interface MockMonitorLike {
  resources: Map<string, { urn: string; id: string | null; state: Record<string, unknown> }>;
  registerResource(
    req: resproto.RegisterResourceRequest,
    cb: Callback<resproto.RegisterResourceResponse>,
  ): void;
  readResource(req: unknown, cb: Callback<unknown>): void;
}

/** Internal runtime helpers without public typings. */
interface SettingsInternals {
  getMonitor(): unknown;
  waitForRPCs(): Promise<void>;
}

/** Serialized RPC value -> plain JSON; reports whether a secret was found anywhere inside. */
function plain(v: unknown, where: string): { value: Json; secret: boolean } {
  if (v === null || typeof v !== "object") return { value: v as Json, secret: false };
  if (Array.isArray(v)) {
    const items = v.map((x, i) => plain(x, `${where}[${i}]`));
    return { value: items.map((x) => x.value), secret: items.some((x) => x.secret) };
  }
  const o = v as Record<string, unknown>;
  const sig = o[specialSigKey];
  if (sig === specialSecretSig) return { value: plain(o.value, where).value, secret: true };
  if (sig === RESOURCE_SIG) return { value: String(o.id || o.urn), secret: false };
  if (sig !== undefined)
    throw new Error(`${where}: assets/archives are not supported by the live harness`);
  let secret = false;
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(o)) {
    const p = plain(x, `${where}.${k}`);
    out[k] = p.value;
    secret = secret || p.secret;
  }
  return { value: out, secret };
}

function newUrn(stack: string, project: string, parent: string, type: string, name: string) {
  const qualified = parent ? `${parent.split("::")[2]}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

export function toRegistration(req: resproto.RegisterResourceRequest): Registration {
  const raw = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
  const inputs: PropMap = {};
  const secretInputs: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const p = plain(v, `${req.getName()}.${k}`);
    inputs[k] = p.value;
    if (p.secret) secretInputs.push(k);
  }
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, key) => {
    propertyDependencies[key] = deps.getUrnsList();
  });
  return {
    urn: newUrn(
      pulumi.getStack(),
      pulumi.getProject(),
      req.getParent(),
      req.getType(),
      req.getName(),
    ),
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    parent: req.getParent(),
    inputs,
    secretInputs,
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    deleteBeforeReplace: req.getDeletebeforereplacedefined()
      ? req.getDeletebeforereplace()
      : undefined,
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    retainOnDelete: req.getRetainondelete() === true,
  };
}

function serializeOutputs(outputs: PropMap, secret: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(outputs)) {
    out[k] = secret.includes(k) ? { [specialSigKey]: specialSecretSig, value: v } : v;
  }
  return out;
}

export interface ProgramResult {
  outputs: Record<string, Json>;
  secretOutputs: string[];
  /** Errors raised by the program itself (not by resource operations). */
  programErrors: string[];
}

/** The Output internals used to read a resolved value (no public accessor exists). */
interface OutputInternals {
  promise(): Promise<unknown>;
}

function toJson(v: unknown): Json {
  return v === undefined ? null : (JSON.parse(JSON.stringify(v)) as Json);
}

async function resolveExports(mod: Record<string, unknown>, result: ProgramResult): Promise<void> {
  await Promise.all(
    Object.entries(mod)
      .filter(([k]) => k !== "__esModule")
      .map(async ([k, v]) => {
        try {
          const o = pulumi.output(v);
          const value = await (o as unknown as OutputInternals).promise();
          result.outputs[k] = toJson(value);
          if (await pulumi.isSecret(o)) result.secretOutputs.push(k);
        } catch (e) {
          result.programErrors.push(`stack output ${k}: ${errorMessage(e)}`);
        }
      }),
  );
  result.secretOutputs.sort();
}

export function programEntry(dir: string, main: string | undefined): string {
  const candidates = main ? [path.resolve(dir, main)] : [];
  candidates.push(path.join(dir, "index.ts"), path.join(dir, "index.js"));
  const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  if (!found) throw new Error(`no program entry point (index.ts) in ${dir}`);
  return found;
}

export async function runProgram(opts: {
  entry: string;
  project: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
  engine: Engine;
  /** A dry run (pulumi.runtime.isDryRun()): values not known before an update are unknown. */
  preview?: boolean;
}): Promise<ProgramResult> {
  const result: ProgramResult = { outputs: {}, secretOutputs: [], programErrors: [] };
  pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource: () => {
        throw new Error("live harness: unexpected call to the mock newResource");
      },
      call: (args) => {
        throw new Error(`function ${args.token} is not supported by the live harness`);
      },
    },
    opts.project,
    opts.stack,
    opts.preview === true,
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as SettingsInternals;
  const monitor = settings.getMonitor() as MockMonitorLike;
  monitor.registerResource = (req, cb) => {
    let reg: Registration;
    try {
      reg = toRegistration(req);
    } catch (e) {
      cb(e instanceof Error ? e : new Error(String(e)), undefined);
      return;
    }
    opts.engine.register(reg).then(
      (r) => {
        const state = serializeOutputs(r.outputs, r.secretOutputs);
        monitor.resources.set(reg.urn, { urn: reg.urn, id: r.id || null, state });
        const resp = new resproto.RegisterResourceResponse();
        resp.setUrn(reg.urn);
        resp.setId(r.id);
        resp.setObject(Struct.fromJavaScript(state as Parameters<typeof Struct.fromJavaScript>[0]));
        cb(null, resp);
      },
      (e: unknown) => cb(e instanceof Error ? e : new Error(String(e)), undefined),
    );
  };
  monitor.readResource = (_req, cb) =>
    cb(
      new Error("reading existing resources (.get) is not supported by the live harness"),
      undefined,
    );

  const program = (async () => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      let mod = require(opts.entry) as unknown;
      if (typeof mod === "function") mod = await (mod as () => unknown)();
      else if (isObject(mod) && typeof mod.default === "function" && Object.keys(mod).length <= 2) {
        mod = await (mod.default as () => unknown)();
      }
      if (isObject(mod)) await resolveExports(mod, result);
    } catch (e) {
      result.programErrors.push(errorMessage(e));
    }
    await settings.waitForRPCs();
  })();
  // After a failed operation, resources depending on it may never settle: stop waiting then.
  await Promise.race([program, opts.engine.failure]);
  await opts.engine.drain();
  return result;
}
