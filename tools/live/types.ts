/** Plain JSON values: what resource inputs, outputs and config look like once resolved. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type PropMap = Record<string, Json>;

/** What the state records for one resource, keyed by URN. */
export interface ResourceState {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  id: string;
  parent: string;
  inputs: PropMap;
  outputs: PropMap;
  /** Top-level input/output keys whose values were Pulumi secrets (stored encrypted). */
  secretInputs: string[];
  secretOutputs: string[];
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  deleteBeforeReplace?: boolean;
  retainOnDelete?: boolean;
  sequence: number;
  /**
   * Set when creation failed half-way (the object exists). Like the engine's init errors: the
   * next `up` updates it (an empty update when unchanged) unless replaceOnChanges covers it.
   */
  initError?: string;
}

export interface StackState {
  version: 1;
  project: string;
  stack: string;
  nextSequence: number;
  resources: Record<string, ResourceState>;
  /** Replaced resources whose old object still has to be deleted (create-before-replace). */
  pendingDeletes: ResourceState[];
  /** The stack outputs of the last `up` that completed (`stack output` reads them). */
  stackOutputs?: PropMap;
  /** Names of the stack outputs that are secret (stored encrypted). */
  stackSecretOutputs?: string[];
}

export type Action =
  "create" | "same" | "update" | "replace" | "delete" | "refresh" | "refresh-drop";

/** What a preview says about one resource. */
export type PlanAction = "create" | "same" | "update" | "replace" | "delete";

/** One resource of a preview. */
export interface PlanEntry {
  urn: string;
  type: string;
  name: string;
  action: PlanAction;
  /**
   * Set when the action holds only if inputs that are unknown until earlier changes are made
   * turn out to differ (a real preview shows these as changes too); otherwise it is `certain`.
   */
  uncertain?: { certain: PlanAction; unknownKeys: string[] };
  changed: string[];
}

/** Docker objects whose delete or replacement needs confirmation (they may hold data). */
export const GUARDED_TYPES = ["docker:index/container:Container", "docker:index/volume:Volume"];

/** The string Pulumi's SDK sends for a value that is unknown during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function containsUnknown(v: Json | undefined): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isObject(v)) return Object.values(v as Record<string, Json>).some(containsUnknown);
  return false;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Short name of a type token: `docker:index/container:Container` -> `Container`. */
export function shortType(type: string): string {
  const parts = type.split(":");
  return parts[parts.length - 1] || type;
}
