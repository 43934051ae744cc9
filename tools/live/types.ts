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
}

export type Action =
  "create" | "same" | "update" | "replace" | "delete" | "refresh" | "refresh-drop";

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Short name of a type token: `docker:index/container:Container` -> `Container`. */
export function shortType(type: string): string {
  const parts = type.split(":");
  return parts[parts.length - 1] || type;
}
