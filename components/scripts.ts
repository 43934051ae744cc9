import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

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
  | "check-cluster"
  | "engine-image"
  | "write-proxy-config"
  | "check-endpoints"
  | "patroni"
  | "patroni-write-config"
  | "patroni-proxy-config"
  | "backup-write-config"
  | "backup-stanza"
  | "backup-kept"
  | "fixed-settings"
  | "primary-image"
  | "restore-check"
  | "restore";

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

/** The inputs a Command running one of these scripts takes. */
export interface CommandScriptArgs {
  readonly create: string;
  readonly interpreter: string[];
  readonly environment: Record<string, pulumi.Input<string>>;
  readonly addPreviousOutputInEnv: boolean;
}

/** Inputs every Command of the project shares: the script, its environment, bash. */
export function scriptArgs(
  script: CommandScript,
  environment: Record<string, pulumi.Input<string>>,
): CommandScriptArgs {
  return {
    create: scriptCommand(script),
    interpreter: BASH,
    environment: { ...environment, [SCRIPT_VARIABLE]: scriptText(script) },
    // No script reads the previous output, and a long one (pg_basebackup progress) could
    // exceed the size of one environment variable on the next update.
    addPreviousOutputInEnv: false,
  };
}

/** additionalSecretOutputs of a Command whose environment holds a password. */
export const SECRET_OUTPUTS = ["stdout", "stderr"];

/** The endpoint proxy's health check, delivered to its /config volume. */
export function proxyCheckScript(): string {
  return read("proxy-check.sh");
}

/** The backup container's entrypoint and commands, delivered to its /config volume. */
export function backupScript(): string {
  return read("backup.sh");
}

/** The script delivered to every instance's /config volume (see instance.sh). */
export function instanceScript(): string {
  return read("instance.sh");
}

export const BASH: string[] = ["/bin/bash", "-c"];
