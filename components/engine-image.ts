import * as command from "@pulumi/command";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

import { scriptArgs } from "./scripts";

const DOCKERFILE = path.join(__dirname, "images", "ha.Dockerfile");

/**
 * The ID of the image the engines run (Patroni, etcd, HAProxy, pgBackRest and its cron): the
 * cluster's image when it carries them, else one built from it once per machine (Debian's
 * packages; see images/ha.Dockerfile).
 */
export function engineImage(
  parent: pulumi.Resource,
  name: string,
  baseImage: pulumi.Input<string>,
  dependsOn: pulumi.Resource[],
): pulumi.Output<string> {
  return new command.local.Command(
    `${name}-engine-image`,
    scriptArgs("engine-image", {
      BASE_IMAGE: baseImage,
      DOCKERFILE: fs.readFileSync(DOCKERFILE, "utf8"),
    }),
    { parent, dependsOn },
  ).stdout;
}
