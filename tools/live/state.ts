/**
 * The live harness's state file: `<state-dir>/<stack>.json`, written atomically with mode 0600.
 * Values of secret inputs/outputs are stored as `{ "secret": "aes256gcm:v1:..." }`.
 */
import * as fs from "fs";
import * as path from "path";
import { loadOrCreateKey, SecretBox } from "./secrets";
import { isObject, PropMap, ResourceState, StackState } from "./types";

interface StoredResource extends Omit<ResourceState, "inputs" | "outputs"> {
  inputs: PropMap;
  outputs: PropMap;
  /** Written by earlier harness versions, which made command stdout/stderr secret. */
  derivedSecretOutputs?: string[];
}

export class StateStore {
  readonly file: string;
  private box: SecretBox | undefined;

  constructor(
    readonly dir: string,
    readonly stack: string,
  ) {
    this.file = path.join(dir, `${stack}.json`);
  }

  private secretBox(): SecretBox {
    if (!this.box) {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.box = new SecretBox(loadOrCreateKey(path.join(this.dir, `${this.stack}.key`)));
    }
    return this.box;
  }

  exists(): boolean {
    return fs.existsSync(this.file);
  }

  load(project: string): StackState {
    if (!this.exists()) {
      return {
        version: 1,
        project,
        stack: this.stack,
        nextSequence: 1,
        resources: {},
        pendingDeletes: [],
      };
    }
    const raw = JSON.parse(fs.readFileSync(this.file, "utf8")) as {
      version: number;
      project: string;
      stack: string;
      nextSequence: number;
      resources: StoredResource[];
      pendingDeletes: StoredResource[];
      stackOutputs?: PropMap;
      stackSecretOutputs?: string[];
    };
    if (raw.version !== 1) throw new Error(`${this.file}: unknown state version ${raw.version}`);
    const resources: Record<string, ResourceState> = {};
    for (const r of raw.resources) resources[r.urn] = this.decode(r);
    return {
      version: 1,
      project: raw.project,
      stack: raw.stack,
      nextSequence: raw.nextSequence,
      resources,
      pendingDeletes: raw.pendingDeletes.map((r) => this.decode(r)),
      ...(raw.stackOutputs
        ? {
            stackOutputs: this.decodeMap(raw.stackOutputs, raw.stackSecretOutputs ?? []),
            stackSecretOutputs: raw.stackSecretOutputs ?? [],
          }
        : {}),
    };
  }

  save(state: StackState): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const body = {
      version: state.version,
      project: state.project,
      stack: state.stack,
      nextSequence: state.nextSequence,
      resources: Object.values(state.resources)
        .sort((a, b) => a.sequence - b.sequence)
        .map((r) => this.encode(r)),
      pendingDeletes: state.pendingDeletes.map((r) => this.encode(r)),
      ...(state.stackOutputs
        ? {
            stackOutputs: this.encodeMap(state.stackOutputs, state.stackSecretOutputs ?? []),
            stackSecretOutputs: state.stackSecretOutputs ?? [],
          }
        : {}),
    };
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(body, null, 2) + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, this.file);
  }

  /** The stack's harness files: state, secrets key, and temporary files a crash left. */
  files(): string[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .filter(
        (f) =>
          f === `${this.stack}.json` ||
          f === `${this.stack}.key` ||
          f.startsWith(`${this.stack}.json.tmp-`),
      )
      .map((f) => path.join(this.dir, f));
  }

  /** Removes the stack's harness files, and the state directory when nothing else is in it. */
  remove(): void {
    for (const f of this.files()) fs.rmSync(f, { force: true });
    this.box = undefined;
    try {
      if (fs.readdirSync(this.dir).length === 0) fs.rmdirSync(this.dir);
    } catch {
      // Another stack's files are there, or the directory is gone already.
    }
  }

  private encodeMap(values: PropMap, secretKeys: string[]): PropMap {
    const out: PropMap = {};
    for (const [k, v] of Object.entries(values)) {
      out[k] = secretKeys.includes(k) ? { secret: this.secretBox().encrypt(v) } : v;
    }
    return out;
  }

  private decodeMap(values: PropMap, secretKeys: string[]): PropMap {
    const out: PropMap = {};
    for (const [k, v] of Object.entries(values)) {
      if (secretKeys.includes(k)) {
        if (!isObject(v) || typeof v.secret !== "string") {
          throw new Error(`${this.file}: secret value ${k} is not encrypted`);
        }
        out[k] = this.secretBox().decrypt(v.secret);
      } else {
        out[k] = v;
      }
    }
    return out;
  }

  private encode(r: ResourceState): StoredResource {
    return {
      ...r,
      inputs: this.encodeMap(r.inputs, r.secretInputs),
      outputs: this.encodeMap(r.outputs, r.secretOutputs),
    };
  }

  private decode(r: StoredResource): ResourceState {
    const { derivedSecretOutputs: derived = [], ...rest } = r;
    return {
      ...rest,
      inputs: this.decodeMap(r.inputs, r.secretInputs),
      outputs: this.decodeMap(r.outputs, r.secretOutputs),
      secretOutputs: r.secretOutputs.filter((k) => !derived.includes(k)),
    };
  }
}
