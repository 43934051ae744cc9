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

/**
 * Test clusters run side by side on one machine: each gets its endpoints just past the ports
 * its instances may ever use (hostPort … hostPort + 15), unless the scenario chose them.
 */
export function withTestEndpointPort(config: ConfigValues): ConfigValues {
  if (config.endpointPort !== undefined || typeof config.hostPort !== "number") return config;
  return { ...config, endpointPort: config.hostPort + 16 };
}
