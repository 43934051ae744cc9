import * as fs from "fs";
import * as path from "path";

const SCRIPT_DIR = path.join(__dirname, "scripts");

export type CommandScript =
  | "write-config"
  | "roles"
  | "slot"
  | "join-standby"
  | "promote"
  | "check-streaming"
  | "image-id"
  | "wait-ready"
  | "check-cluster";

/** Environment variable that carries a Command's script text. */
export const SCRIPT_VARIABLE = "POSTGRES_REPLICATION_SCRIPT";

function read(file: string): string {
  return fs.readFileSync(path.join(SCRIPT_DIR, file), "utf8");
}

/** The shared helpers, then the script: what a Command runs with bash. */
export function scriptText(name: CommandScript): string {
  return `${read("lib.sh")}\n${read(`${name}.sh`)}`;
}

/**
 * The command line a Command runs. The script itself travels in the environment
 * (SCRIPT_VARIABLE): the providers quote the whole command line in every failure message,
 * so it stays one short line, while state still shows the text that ran.
 */
export function scriptCommand(name: CommandScript, ...args: string[]): string {
  return [`exec /bin/bash -c "$${SCRIPT_VARIABLE}"`, name, ...args].join(" ");
}

/** The script delivered to every instance's /config volume (see instance.sh). */
export function instanceScript(): string {
  return read("instance.sh");
}

export const BASH: string[] = ["/bin/bash", "-c"];
