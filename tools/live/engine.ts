/**
 * The engine part of the live harness (stands in for the Pulumi engine's deployment logic):
 * decides per registered resource whether it is created, left alone, updated or replaced,
 * records the state after each step, deletes what the program no longer declares, refreshes
 * and destroys. Provider work is delegated to ./providers.
 */
import { applyIgnoreChanges, changedKeys, forcedReplace } from "./diff";
import { errorMessage, progress, say } from "./log";
import { providerFor } from "./providers";
import { CreateResult, OpContext, PartialCreateError } from "./providers/types";
import { StateStore } from "./state";
import { Action, PropMap, ResourceState, shortType, StackState } from "./types";

/** What the resource monitor learned from one RegisterResource request. */
export interface Registration {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent: string;
  inputs: PropMap;
  secretInputs: string[];
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  /** undefined when the program did not set the option. */
  deleteBeforeReplace: boolean | undefined;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  retainOnDelete: boolean;
}

export interface Registered {
  id: string;
  outputs: PropMap;
  secretOutputs: string[];
}

export interface ActionRecord {
  urn: string;
  type: string;
  name: string;
  action: Action;
}

/** Reverse dependency order: a resource is deleted before anything it depends on. */
export function deletionOrder(resources: ResourceState[]): ResourceState[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const edges = (r: ResourceState): string[] =>
    [...r.dependencies, ...(r.parent ? [r.parent] : [])].filter((u) => byUrn.has(u) && u !== r.urn);
  const dependents = new Map<string, number>(resources.map((r) => [r.urn, 0]));
  for (const r of resources)
    for (const d of edges(r)) dependents.set(d, (dependents.get(d) ?? 0) + 1);
  const ready = resources.filter((r) => dependents.get(r.urn) === 0);
  const order: ResourceState[] = [];
  const done = new Set<string>();
  while (order.length < resources.length) {
    if (ready.length === 0) {
      // A cycle (should not happen): fall back to reverse creation order for the rest.
      const rest = resources.filter((r) => !done.has(r.urn));
      ready.push(rest.sort((a, b) => b.sequence - a.sequence)[0]);
    }
    ready.sort((a, b) => b.sequence - a.sequence);
    const r = ready.shift() as ResourceState;
    if (done.has(r.urn)) continue;
    done.add(r.urn);
    order.push(r);
    for (const d of edges(r)) {
      const left = (dependents.get(d) ?? 1) - 1;
      dependents.set(d, left);
      if (left === 0 && !done.has(d)) ready.push(byUrn.get(d) as ResourceState);
    }
  }
  return order;
}

function union(...lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

export class Engine {
  readonly actions: ActionRecord[] = [];
  readonly failures: string[] = [];
  private readonly registered = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private signalFailure: () => void = () => undefined;
  /**
   * Resolves at the first failed operation. After a failure the SDK can leave dependent
   * resources waiting forever (the real engine would end the program), so the runner stops
   * waiting for the program then.
   */
  readonly failure = new Promise<void>((resolve) => (this.signalFailure = resolve));

  constructor(
    private readonly store: StateStore,
    readonly state: StackState,
  ) {}

  get failed(): boolean {
    return this.failures.length > 0;
  }

  private save(): void {
    this.store.save(this.state);
  }

  private record(
    r: { urn: string; type: string; name: string },
    action: Action,
    t0: number,
    detail = "",
  ) {
    this.actions.push({ urn: r.urn, type: r.type, name: r.name, action });
    progress(action, r.type, r.name, (Date.now() - t0) / 1000, detail);
  }

  private context(r: { urn: string; type: string; name: string }): OpContext {
    return { ...r, print: (line) => say(`      [${r.name}] ${line}`) };
  }

  /** Waits until no registration is being processed. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  register(reg: Registration): Promise<Registered> {
    const op = this.registerInner(reg);
    this.inflight.add(op);
    const remove = () => this.inflight.delete(op);
    op.then(remove, remove);
    return op;
  }

  private async registerInner(reg: Registration): Promise<Registered> {
    if (this.failed) {
      throw new Error(`${reg.name}: not attempted because an earlier resource operation failed`);
    }
    if (this.registered.has(reg.urn)) throw new Error(`duplicate resource URN ${reg.urn}`);
    this.registered.add(reg.urn);
    const t0 = Date.now();
    try {
      return reg.custom ? await this.apply(reg, t0) : this.component(reg, t0);
    } catch (e) {
      const msg = `${shortType(reg.type)} ${reg.name}: ${errorMessage(e)}`;
      this.failures.push(msg);
      this.signalFailure();
      say(`  ${"failed".padEnd(12)} ${shortType(reg.type).padEnd(18)} ${reg.name}`);
      throw new Error(msg);
    }
  }

  private base(
    reg: Registration,
  ): Omit<ResourceState, "id" | "outputs" | "secretOutputs" | "sequence"> {
    return {
      urn: reg.urn,
      type: reg.type,
      name: reg.name,
      custom: reg.custom,
      parent: reg.parent,
      inputs: reg.inputs,
      secretInputs: reg.secretInputs,
      dependencies: reg.dependencies,
      propertyDependencies: reg.propertyDependencies,
      deleteBeforeReplace: reg.deleteBeforeReplace,
      retainOnDelete: reg.retainOnDelete,
    };
  }

  private component(reg: Registration, t0: number): Registered {
    const old = this.state.resources[reg.urn];
    this.state.resources[reg.urn] = {
      ...this.base(reg),
      id: "",
      outputs: {},
      secretOutputs: [],
      sequence: old?.sequence ?? this.state.nextSequence++,
    };
    this.save();
    this.record(reg, old ? "same" : "create", t0);
    return { id: "", outputs: {}, secretOutputs: [] };
  }

  private async apply(reg: Registration, t0: number): Promise<Registered> {
    const provider = providerFor(reg.type);
    const old = this.state.resources[reg.urn];
    const inputs = old ? applyIgnoreChanges(old, reg.inputs, reg.ignoreChanges) : reg.inputs;
    const secretInputs = reg.secretInputs.filter((k) => k in inputs);
    provider.check(inputs);
    const regFixed = { ...reg, inputs, secretInputs };
    if (!old) return this.create(regFixed, t0, "create");
    const changed = provider.diff ? provider.diff(old, inputs) : changedKeys(old.inputs, inputs);
    const initError = !!old.initError;
    if (changed.length === 0 && !initError) {
      const kept: ResourceState = {
        ...old,
        ...this.base(regFixed),
        id: old.id,
        outputs: old.outputs,
      };
      kept.secretOutputs = union(old.secretOutputs, this.outputSecrets(regFixed, old.outputs, []));
      this.state.resources[reg.urn] = kept;
      this.save();
      this.record(reg, "same", t0);
      return { id: kept.id, outputs: kept.outputs, secretOutputs: kept.secretOutputs };
    }
    // Unchanged but partly created (init errors): the engine issues an empty update, unless
    // replaceOnChanges covers the `#initerror` key.
    const replace =
      !provider.update ||
      (changed.length > 0 && provider.requiresReplace(changed, old, inputs)) ||
      forcedReplace(changed, reg.replaceOnChanges, initError);
    if (!replace && provider.update) {
      const res = await provider.update(this.context(reg), old, inputs, changed);
      return this.store_(regFixed, res, old.sequence, t0, "update", undefined, changed);
    }
    const dbr = reg.deleteBeforeReplace ?? provider.deleteBeforeReplace(old, inputs);
    if (dbr) await this.deleteOne(old, "silent");
    else this.state.pendingDeletes.push(old);
    delete this.state.resources[reg.urn];
    this.save();
    try {
      return await this.create(regFixed, t0, "replace", changed);
    } catch (e) {
      // A failed create-before-delete replacement leaves the old resource in state, untouched.
      if (!dbr && !(e instanceof PartialCreateError)) {
        this.state.pendingDeletes = this.state.pendingDeletes.filter((p) => p !== old);
        this.state.resources[reg.urn] = old;
        this.save();
      }
      throw e;
    }
  }

  private outputSecrets(reg: Registration, outputs: PropMap, fromProvider: string[]): string[] {
    const keys = Object.keys(outputs);
    // Secretness flows only to the output of the same name as a secret input.
    return union(
      fromProvider,
      reg.additionalSecretOutputs.filter((k) => keys.includes(k)),
      reg.secretInputs.filter((k) => keys.includes(k)),
    );
  }

  private async create(
    reg: Registration,
    t0: number,
    action: Action,
    changed: string[] = [],
  ): Promise<Registered> {
    const provider = providerFor(reg.type);
    let res: CreateResult;
    try {
      res = await provider.create(this.context(reg), reg.inputs);
    } catch (e) {
      if (e instanceof PartialCreateError) {
        this.store_(reg, e.result, this.state.nextSequence++, t0, undefined, e.message);
      }
      throw e;
    }
    return this.store_(reg, res, this.state.nextSequence++, t0, action, undefined, changed);
  }

  private store_(
    reg: Registration,
    res: CreateResult,
    sequence: number,
    t0: number,
    action: Action | undefined,
    initError?: string,
    changed: string[] = [],
  ): Registered {
    const secretOutputs = this.outputSecrets(reg, res.outputs, res.secretOutputs ?? []);
    this.state.resources[reg.urn] = {
      ...this.base(reg),
      id: res.id,
      outputs: res.outputs,
      secretOutputs,
      sequence,
      ...(initError ? { initError } : {}),
    };
    this.save();
    if (action)
      this.record(
        reg,
        action,
        t0,
        changed.length
          ? `changed: ${changed.join(", ")}`
          : action === "update"
            ? "no change: continues a partial create"
            : "",
      );
    return { id: res.id, outputs: res.outputs, secretOutputs };
  }

  /** Runs the provider delete (unless retainOnDelete); does not touch the state. */
  private async deleteOne(r: ResourceState, mode: "record" | "print" | "silent"): Promise<void> {
    const t0 = Date.now();
    if (r.custom && !r.retainOnDelete) await providerFor(r.type).delete(this.context(r), r);
    if (mode === "record") this.record(r, "delete", t0);
    // A replaced resource's old object: shown, but counted as part of the replacement.
    if (mode === "print")
      progress("delete", r.type, `${r.name} (replaced)`, (Date.now() - t0) / 1000);
  }

  private async deleteAll(list: ResourceState[], pending: boolean): Promise<void> {
    for (const r of pending ? [...list].reverse() : deletionOrder(list)) {
      try {
        await this.deleteOne(r, pending ? "print" : "record");
      } catch (e) {
        const msg = `${shortType(r.type)} ${r.name}: delete failed: ${errorMessage(e)}`;
        this.failures.push(msg);
        return;
      }
      if (pending) this.state.pendingDeletes = this.state.pendingDeletes.filter((p) => p !== r);
      else delete this.state.resources[r.urn];
      this.save();
    }
  }

  /** After a successful program run: delete replaced objects and undeclared resources. */
  async finishUp(): Promise<void> {
    await this.deleteAll(this.state.pendingDeletes, true);
    if (this.failed) return;
    const gone = Object.values(this.state.resources).filter((r) => !this.registered.has(r.urn));
    await this.deleteAll(gone, false);
  }

  async destroyAll(): Promise<void> {
    await this.deleteAll(this.state.pendingDeletes, true);
    if (this.failed) return;
    await this.deleteAll(Object.values(this.state.resources), false);
  }

  /**
   * --refresh: each provider's Read. Objects that vanished are dropped from state; the others
   * get the outputs Read sees now (a moved image tag, a re-formatted healthcheck, ...), which the
   * next diff compares against.
   */
  async refresh(): Promise<void> {
    for (const r of Object.values(this.state.resources).sort((a, b) => a.sequence - b.sequence)) {
      const read = r.custom ? providerFor(r.type).read : undefined;
      if (!read) continue;
      const t0 = Date.now();
      const now = await read(r);
      if (!now) {
        delete this.state.resources[r.urn];
        this.save();
        this.record(r, "refresh-drop", t0);
        continue;
      }
      const changed = changedKeys(r.outputs, now.outputs);
      if (changed.length === 0 && now.id === r.id) continue;
      this.state.resources[r.urn] = { ...r, id: now.id, outputs: now.outputs };
      this.save();
      this.record(r, "refresh", t0, `read: ${changed.join(", ")}`);
    }
  }

  summary(): string {
    const count = (a: Action) => this.actions.filter((x) => x.action === a).length;
    return (
      `Resources: ${count("create")} created, ${count("same")} unchanged, ` +
      `${count("update")} updated, ${count("replace")} replaced, ${count("delete")} deleted` +
      (count("refresh") ? `, ${count("refresh")} changed by refresh` : "") +
      (count("refresh-drop") ? `, ${count("refresh-drop")} dropped by refresh` : "") +
      (this.failed ? `, ${this.failures.length} failed` : "")
    );
  }
}
