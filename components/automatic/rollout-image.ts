import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

import { scriptArgs, scriptCommand } from "../scripts";

/** How long the container before may take to run on a new image. */
const ROLLOUT_STEP_SECONDS = 600;

export interface RolloutImageArgs {
  /** Resource name of this Command. */
  readonly resourceName: string;
  /** What the container before this one runs: a Patroni member or an etcd member. */
  readonly kind: "member" | "etcd";
  readonly image: pulumi.Input<string>;
  /** Container name of the one before this one in the rollout order. */
  readonly previous: string;
  /** Patroni members' container names (the REST client runs in one of them). */
  readonly members: string[];
  /** The container before this one: replaced first. */
  readonly dependsOn: pulumi.Resource[];
}

/**
 * The image of a container that comes after another in a rollout order: the configured one,
 * but a new image reaches it only once the one before it runs that image (patroni.sh image),
 * so a rollout stops one container at a time and never goes past one that cannot run it.
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
        CONTAINER: args.previous,
        MEMBERS: args.members.join(" "),
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
