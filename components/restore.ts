import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

import { backupVolumeName } from "./backup";
import { RestoreSettings, restoreTargetTime } from "./backup-settings";
import { scriptArgs } from "./scripts";

/** What restore-check.sh and restore.sh are told about the restore. */
export function restoreEnvironment(restore: RestoreSettings): Record<string, string> {
  const time = restoreTargetTime(restore.target);
  return {
    RESTORE_FROM: restore.fromCluster,
    SOURCE_VOLUME: backupVolumeName(restore.fromCluster),
    RESTORE_TARGET: time ? time.text : "latest",
    TARGET_EPOCH_MS: time ? String(time.epochMs) : "",
  };
}

/**
 * The check of a restore that every other resource of the cluster waits for: it runs when
 * the restore is first configured or changed, before any volume or network exists, and fails
 * with one message naming the key (see restore-check.sh).
 */
export function createRestoreCheck(
  parent: pulumi.Resource,
  name: string,
  args: { cluster: string; restore: RestoreSettings; engineImage: pulumi.Input<string> },
): command.local.Command {
  return new command.local.Command(
    `${name}-restore-check`,
    {
      ...scriptArgs("restore-check", {
        ...restoreEnvironment(args.restore),
        CLUSTER: args.cluster,
        IMAGE: args.engineImage,
      }),
      // The same restore, checked before, is not checked again (see the script).
      addPreviousOutputInEnv: true,
    },
    { parent },
  );
}

/** The primary's volumes the restore fills, and the image that runs it. */
export interface RestoreArgs {
  readonly cluster: string;
  readonly restore: RestoreSettings;
  readonly image: pulumi.Input<string>;
  readonly dataVolume: pulumi.Input<string>;
  readonly configVolume: pulumi.Input<string>;
  readonly archiveVolume: pulumi.Input<string>;
  readonly dependsOn: pulumi.Resource[];
}

/**
 * The restored primary's data directory, made before its container exists (see restore.sh);
 * nothing to do once the data volume holds a database cluster.
 */
export function createRestore(
  parent: pulumi.Resource,
  name: string,
  args: RestoreArgs,
): command.local.Command {
  const { RESTORE_FROM, RESTORE_TARGET, SOURCE_VOLUME } = restoreEnvironment(args.restore);
  return new command.local.Command(
    `${name}-restore`,
    scriptArgs("restore", {
      CLUSTER: args.cluster,
      IMAGE: args.image,
      DATA_VOLUME: args.dataVolume,
      CONFIG_VOLUME: args.configVolume,
      ARCHIVE_VOLUME: args.archiveVolume,
      SOURCE_VOLUME,
      RESTORE_FROM,
      RESTORE_TARGET,
    }),
    { parent, dependsOn: args.dependsOn },
  );
}
