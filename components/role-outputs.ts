import * as pulumi from "@pulumi/pulumi";

/** One instance as the stack outputs describe it. */
export interface InstanceInfo {
  readonly name: string;
  readonly role: "primary" | "standby";
  readonly hostPort: number;
}

/** The stack outputs that depend on who leads: what each failover mode hands back. */
export interface RoleOutputs {
  readonly primary: pulumi.Output<string>;
  readonly primaryEndpoint: pulumi.Output<string>;
  readonly standbyEndpoints: pulumi.Output<string[]>;
  readonly instances: pulumi.Output<InstanceInfo[]>;
  readonly connectionString: pulumi.Output<string>;
  readonly readWriteUri: pulumi.Output<string>;
  readonly readOnlyUri: pulumi.Output<string>;
}
