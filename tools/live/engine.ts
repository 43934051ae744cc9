/**
 * The engine part of the live harness (stands in for the Pulumi engine's deployment logic):
 * decides per registered resource whether it is created, left alone, updated or replaced,
 * records the state after each step, deletes what the program no longer declares, refreshes
 * and destroys. Provider work is delegated to ./providers.
 */
import { applyIgnoreChanges, changedKeys, deepEqual, forcedReplace } from "./diff";
import { errorMessage, planLine, progress, say } from "./log";
import { providerFor } from "./providers";
import { CreateResult, OpContext, PartialCreateError, Provider } from "./providers/types";
import { StateStore } from "./state";
import {
  Action,
  containsUnknown,
  GUARDED_TYPES,
  isObject,
  Json,
  PlanAction,
  PlanEntry,
  PropMap,
  ResourceState,
  shortType,
  StackState,
  UNKNOWN,
} from "./types";

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

/** Whether `news` differs from `olds` in a part that is known (unknown parts match anything). */
export function knownPartsDiffer(olds: Json | undefined, news: Json | undefined): boolean {
  if (news === UNKNOWN) return false;
  if (Array.isArray(news)) {
    if (!Array.isArray(olds) || olds.length !== news.length) return true;
    return news.some((v, i) => knownPartsDiffer(olds[i], v));
  }
  if (isObject(news)) {
    if (!isObject(olds)) return true;
    const o = olds as Record<string, Json>;
    const n = news as Record<string, Json>;
    const keys = new Set([...Object.keys(o), ...Object.keys(n)]);
    return [...keys].some((k) => knownPartsDiffer(o[k], n[k]));
  }
  return !deepEqual(olds, news);
}

function union(...lists: string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

/**
 * Which deletes and replacements of guarded objects (Containers, Volumes) a run may do: all
 * (`--yes`), or those of the URNs in the plan that was confirmed.
 */
export type Approval = "all" | ReadonlySet<string>;

export interface EngineOptions {
  /** Decide and print, change nothing (no provider call, no state write). */
  preview?: boolean;
  /** Apply mode: guarded deletes and replacements allowed; default all. */
  approved?: Approval;
  /** What to run to confirm a guarded delete or replacement the run refused. */
  confirmHint?: string;
}

/** What the engine decided for one registered custom resource. */
interface Decision {
  provider: Provider;
  old?: ResourceState;
  reg: Registration;
  action: Exclude<PlanAction, "delete">;
  changed: string[];
  initError: boolean;
  /** Preview only: the action if every unknown input kept its old value. */
  certain: Exclude<PlanAction, "delete">;
  unknownKeys: string[];
}

export class Engine {
  readonly actions: ActionRecord[] = [];
  /** Preview mode: what would happen, per resource, in registration order. */
  readonly plan: PlanEntry[] = [];
  readonly failures: string[] = [];
  readonly preview: boolean;
  private readonly approved: Approval;
  private readonly confirmHint: string;
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
    opts: EngineOptions = {},
  ) {
    this.preview = opts.preview === true;
    this.approved = opts.approved ?? "all";
    this.confirmHint =
      opts.confirmHint ?? "run `npm run live -- up` (it previews and asks) or add --yes";
  }

  get failed(): boolean {
    return this.failures.length > 0;
  }

  private save(): void {
    if (!this.preview) this.store.save(this.state);
  }

  private planned(entry: PlanEntry, detail = ""): void {
    this.plan.push(entry);
    if (entry.action !== "same") planLine(entry, detail);
  }

  /** Refuses a delete or replacement of a guarded object that was not confirmed. */
  private guard(r: { urn: string; type: string; name: string }, what: "deleted" | "replaced") {
    if (!GUARDED_TYPES.includes(r.type) || this.approved === "all") return;
    if (this.approved.has(r.urn)) return;
    throw new Error(
      `would be ${what} without confirmation (no preview that was confirmed showed it), so ` +
        `nothing was ${what}; ${this.confirmHint}`,
    );
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
    if (this.preview) {
      this.planned({ ...this.ident(reg), action: old ? "same" : "create", changed: [] });
      return { id: "", outputs: {}, secretOutputs: [] };
    }
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

  private ident(r: { urn: string; type: string; name: string }) {
    return { urn: r.urn, type: r.type, name: r.name };
  }

  /** Same, update or replace (or create), as the real engine decides from the provider's diff. */
  private decide(reg: Registration): Decision {
    const provider = providerFor(reg.type);
    const old = this.state.resources[reg.urn];
    const inputs = old ? applyIgnoreChanges(old, reg.inputs, reg.ignoreChanges) : reg.inputs;
    const secretInputs = reg.secretInputs.filter((k) => k in inputs);
    provider.check(inputs);
    const fixed = { ...reg, inputs, secretInputs };
    const unknownKeys = Object.keys(inputs).filter((k) => containsUnknown(inputs[k]));
    if (!old) {
      return {
        provider,
        reg: fixed,
        action: "create",
        certain: "create",
        changed: [],
        initError: false,
        unknownKeys,
      };
    }
    const changed = provider.diff ? provider.diff(old, inputs) : changedKeys(old.inputs, inputs);
    const initError = !!old.initError;
    // Unchanged but partly created (init errors): the engine issues an empty update, unless
    // replaceOnChanges covers the `#initerror` key.
    const actionFor = (keys: string[]): Decision["action"] => {
      if (keys.length === 0 && !initError) return "same";
      const replace =
        !provider.update ||
        (keys.length > 0 && provider.requiresReplace(keys, old, inputs)) ||
        forcedReplace(keys, reg.replaceOnChanges, initError);
      return replace ? "replace" : "update";
    };
    const action = actionFor(changed);
    // What certainly changed: known inputs that differ, and inputs with unknown parts whose
    // known parts already differ from the old value.
    const certain = unknownKeys.length
      ? actionFor(
          changed.filter(
            (k) => !unknownKeys.includes(k) || knownPartsDiffer(old.inputs[k], inputs[k]),
          ),
        )
      : action;
    return { provider, old, reg: fixed, action, certain, changed, initError, unknownKeys };
  }

  private async apply(reg: Registration, t0: number): Promise<Registered> {
    const d = this.decide(reg);
    if (this.preview) return this.previewOne(d);
    const { provider, old, changed } = d;
    const regFixed = d.reg;
    if (!old) return this.create(regFixed, t0, "create");
    if (d.action === "same") {
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
    if (d.action === "update" && provider.update) {
      const res = await provider.update(this.context(reg), old, regFixed.inputs, changed);
      return this.store_(regFixed, res, old.sequence, t0, "update", undefined, changed);
    }
    this.guard(old, "replaced");
    const dbr = reg.deleteBeforeReplace ?? provider.deleteBeforeReplace(old, regFixed.inputs);
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

  /**
   * Preview: records the decision and answers with what is known before the change is made.
   * Unchanged resources give their outputs; an update gives the old outputs with the new
   * inputs, except what the provider computes anew; a create or replacement gives only its
   * inputs. Everything else is unknown to the program (Pulumi's preview semantics), so the
   * resources that depend on a change see unknown inputs: they are shown as changes that
   * depend on those values ("may update", "may replace").
   */
  private previewOne(d: Decision): Registered {
    const { old, reg } = d;
    const uncertain =
      d.action !== d.certain ? { certain: d.certain, unknownKeys: d.unknownKeys } : undefined;
    const detail = [
      d.changed.length ? `changed: ${d.changed.join(", ")}` : "",
      uncertain ? `known after earlier changes: ${d.unknownKeys.join(", ")}` : "",
    ]
      .filter((x) => x)
      .join("; ");
    this.planned(
      {
        ...this.ident(reg),
        action: d.action,
        changed: d.changed,
        ...(uncertain ? { uncertain } : {}),
      },
      detail,
    );
    let id = "";
    let outputs: PropMap = { ...reg.inputs };
    if (old && d.action === "same") {
      id = old.id;
      outputs = old.outputs;
    } else if (old && d.action === "update") {
      id = old.id;
      outputs = { ...old.outputs, ...reg.inputs };
      for (const k of d.provider.recomputedOnUpdate ?? []) delete outputs[k];
    }
    const secretOutputs = union(
      old && d.action !== "replace" ? old.secretOutputs.filter((k) => k in outputs) : [],
      this.outputSecrets(reg, outputs, []),
    );
    return { id, outputs, secretOutputs };
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
    const order = pending ? [...list].reverse() : deletionOrder(list);
    if (this.preview) {
      for (const r of order) {
        this.planned(
          { ...this.ident(r), action: "delete", changed: [] },
          pending ? "replaced earlier; the old object is still to delete" : "",
        );
      }
      return;
    }
    // Nothing is deleted when any guarded delete was not confirmed.
    for (const r of order) {
      try {
        this.guard(r, "deleted");
      } catch (e) {
        this.failures.push(`${shortType(r.type)} ${r.name}: ${errorMessage(e)}`);
      }
    }
    if (this.failed) return;
    for (const r of order) {
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

  /** The preview's summary line. */
  planSummary(): string {
    const count = (a: PlanAction, uncertain: boolean) =>
      this.plan.filter((x) => x.action === a && !!x.uncertain === uncertain).length;
    const sure = (["create", "update", "replace", "delete"] as const).map(
      (a) => `${count(a, false)} to ${a}`,
    );
    const may = (["update", "replace"] as const)
      .filter((a) => count(a, true) > 0)
      .map((a) => `${count(a, true)} may ${a}`);
    return (
      `Plan: ${sure.join(", ")}, ${count("same", false)} unchanged` +
      (may.length ? `; ${may.join(", ")} (depending on values known only during the update)` : "") +
      (this.failed ? `; ${this.failures.length} failed` : "")
    );
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
