import * as fs from "fs";
import * as path from "path";

const SCRIPT_DIR = path.join(__dirname, "scripts");

export type CommandScript =
  "write-config" | "roles" | "slot" | "join-standby" | "promote" | "check-streaming";

function read(file: string): string {
  return fs.readFileSync(path.join(SCRIPT_DIR, file), "utf8");
}

/**
 * The text a Command runs with bash: the shared helpers, then the script. The text itself,
 * not a path, so that a program run from any directory works and state shows what ran.
 */
export function commandScript(name: CommandScript, ...args: string[]): string {
  const setArgs = args.length > 0 ? `set -- ${args.join(" ")}\n` : "";
  return `${read("lib.sh")}\n${setArgs}${read(`${name}.sh`)}`;
}

/** The script delivered to every instance's /config volume (see instance.sh). */
export function instanceScript(): string {
  return read("instance.sh");
}

export const BASH: string[] = ["/bin/bash", "-c"];
