import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

import { scriptArgs, scriptCommand } from "../scripts";

/** How long the container before may take to run on a new image. */
const ROLLOUT_STEP_SECONDS = 600;

export interface RolloutImageArgs {
  /** Resource name of this Command. */
  readonly resourceName: string;
  readonly cluster: string;
  /** What the containers of this rollout run: Patroni members or etcd members. */
  readonly kind: "member" | "etcd";
  readonly image: pulumi.Input<string>;
  /** The container before this one in the rollout order: replaced first. */
  readonly dependsOn: pulumi.Resource[];
}

/**
 * The image of a container that comes after another in a rollout order: the configured one,
 * but a new image reaches it only once those before it run that image (patroni.sh image), so
 * a rollout stops one container at a time and never goes past one that cannot run it. Its
 * inputs change with the image only: the order lives in the dependency on the one before.
 */
export function rolloutImage(
  parent: pulumi.Resource,
  args: RolloutImageArgs,
): pulumi.Output<string> {
  return new command.local.Command(
    args.resourceName,
    {
      ...scriptArgs("patroni", {
        IMAGE: args.image,
        KIND: args.kind,
        CLUSTER: args.cluster,
        TIMEOUT_SECONDS: String(ROLLOUT_STEP_SECONDS),
      }),
      create: scriptCommand("patroni", "image"),
      update: scriptCommand("patroni", "image", "update"),
      // The update compares the image with the one it printed before.
      addPreviousOutputInEnv: true,
    },
    { parent, dependsOn: args.dependsOn },
  ).stdout;
}
