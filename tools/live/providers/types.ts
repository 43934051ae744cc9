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
  /** Output keys the provider itself declares secret. */
  secretOutputs?: string[];
}

export interface Provider {
  /** Throws for inputs the stand-in does not implement (never silently ignored). */
  check(inputs: PropMap): void;
  create(ctx: OpContext, inputs: PropMap): Promise<CreateResult>;
  /** In-place update of the `changed` keys; absent = every change replaces. */
  update?(
    ctx: OpContext,
    old: ResourceState,
    inputs: PropMap,
    changed: string[],
  ): Promise<CreateResult>;
  delete(ctx: OpContext, old: ResourceState): Promise<void>;
  /** Outputs an update computes anew (unknown in a preview of the update). */
  recomputedOnUpdate?: string[];
  /**
   * Top-level input keys that differ from what the real provider diffs them against. Absent:
   * the old inputs, which is the same wherever the state mirrors the inputs; bridged docker
   * resources diff against state, and state holds what their Read stored.
   */
  diff?(old: ResourceState, inputs: PropMap): string[];
  /** Given the changed top-level keys, does the provider replace (true) or update (false)? */
  requiresReplace(changed: string[], old: ResourceState, inputs: PropMap): boolean;
  /** Default delete-before-replace when the program did not set the option. */
  deleteBeforeReplace(old: ResourceState, inputs: PropMap): boolean;
  /**
   * Refresh: the object as the real provider's Read sees it now (`outputs` is the whole new
   * state), or undefined when Read would drop it from state. Absent: Read keeps the state.
   */
  read?(old: ResourceState): Promise<CreateResult | undefined>;
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
