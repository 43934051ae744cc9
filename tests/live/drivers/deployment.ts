/** What scenario tests drive: a deployment of a Pulumi program, live harness or Automation API. */

/** Config keys without the project prefix; objects are JSON-encoded, other values stringified. */
export type ConfigValues = Record<string, string | number | boolean | object>;

export interface UpResult {
  outputs: Record<string, unknown>;
  secretOutputs: string[];
  /** resource name -> create|same|update|replace|delete */
  actions: Record<string, string>;
}

export interface Deployment {
  readonly kind: "live" | "automation";
  up(
    config: ConfigValues,
    opts?: { refresh?: boolean; secrets?: Record<string, string> },
  ): Promise<UpResult>;
  destroy(): Promise<void>;
  /** Removes the state/stack. */
  dispose(): Promise<void>;
}
