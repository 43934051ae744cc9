/** The interface the engine uses to talk to the stand-in providers. */
import { PropMap, ResourceState } from "../types";

export interface OpContext {
  urn: string;
  name: string;
  type: string;
  /** Prints a line (prefixed with the resource name, redacted) to the terminal. */
  print(line: string): void;
}

export interface CreateResult {
  id: string;
  outputs: PropMap;
  /** Output keys the provider itself declares secret (and whose values are redacted). */
  secretOutputs?: string[];
  /** Output keys marked secret only because they derive from secret inputs (not redacted). */
  derivedSecretOutputs?: string[];
}

export interface Provider {
  /** Throws for inputs the stand-in does not implement (never silently ignored). */
  check(inputs: PropMap): void;
  create(ctx: OpContext, inputs: PropMap, secretInputs: string[]): Promise<CreateResult>;
  /** In-place update; absent = every change replaces. */
  update?(
    ctx: OpContext,
    old: ResourceState,
    inputs: PropMap,
    secretInputs: string[],
  ): Promise<CreateResult>;
  delete(ctx: OpContext, old: ResourceState): Promise<void>;
  /** Given the changed top-level keys, does the provider replace (true) or update (false)? */
  requiresReplace(changed: string[], old: ResourceState, inputs: PropMap): boolean;
  /** Default delete-before-replace when the program did not set the option. */
  deleteBeforeReplace(old: ResourceState, inputs: PropMap): boolean;
  /** For --refresh: is the object still there (and running, where that matters)? */
  exists?(old: ResourceState): Promise<boolean>;
}

/** Thrown when creation failed after the object came into existence (kept in state). */
export class PartialCreateError extends Error {
  constructor(
    message: string,
    readonly result: CreateResult,
  ) {
    super(message);
  }
}

/** Fails for any given input key that is not in `supported` (null/false/empty count as unset). */
export function rejectUnsupported(type: string, inputs: PropMap, supported: string[]): void {
  const bad = Object.entries(inputs)
    .filter(([k]) => !supported.includes(k))
    .filter(([, v]) => v !== null && v !== false && !(Array.isArray(v) && v.length === 0))
    .map(([k]) => k);
  if (bad.length > 0) {
    throw new Error(
      `${type}: input(s) ${bad.join(", ")} not implemented by the live harness ` +
        `(it stands in for the real provider; extend tools/live/providers to support them)`,
    );
  }
}
