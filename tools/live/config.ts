/** Project and stack configuration, read like the Pulumi CLI does (no decryption). */
import * as fs from "fs";
import * as path from "path";
import { isObject } from "./types";

import * as yaml from "js-yaml";

export interface Project {
  name: string;
  main?: string;
}

export function readProject(dir: string): Project {
  const file = path.join(dir, "Pulumi.yaml");
  if (!fs.existsSync(file)) throw new Error(`${file} not found (use --program DIR)`);
  const doc = yaml.load(fs.readFileSync(file, "utf8"));
  if (!isObject(doc) || typeof doc.name !== "string") throw new Error(`${file}: no project name`);
  return { name: doc.name, main: typeof doc.main === "string" ? doc.main : undefined };
}

export interface StackConfig {
  config: Record<string, string>;
  secretKeys: string[];
}

function fullKey(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

function hasSecure(v: unknown): boolean {
  if (isObject(v)) return "secure" in v || Object.values(v).some(hasSecure);
  return Array.isArray(v) && v.some(hasSecure);
}

function splitAssignment(arg: string): [string, string] {
  const i = arg.indexOf("=");
  if (i <= 0) throw new Error(`expected key=value, got "${arg.split("=")[0]}"`);
  return [arg.slice(0, i), arg.slice(i + 1)];
}

/** Stack file values, then `key=value` overrides, then `--secret key=value` values. */
export function loadConfig(
  dir: string,
  project: string,
  stack: string,
  overrides: string[],
  secrets: string[],
): StackConfig {
  const config: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(file)) {
    const doc = yaml.load(fs.readFileSync(file, "utf8"));
    const values = isObject(doc) && isObject(doc.config) ? doc.config : {};
    for (const [k, v] of Object.entries(values)) {
      const key = fullKey(project, k);
      if (hasSecure(v)) {
        throw new Error(
          `${file}: ${key} is an encrypted (secure:) value, which the live harness cannot decrypt; ` +
            `pass it with --secret ${key.split(":").pop()}=VALUE`,
        );
      }
      config[key] =
        typeof v === "string" ? v : isObject(v) || Array.isArray(v) ? JSON.stringify(v) : String(v);
    }
  }
  for (const a of overrides) {
    const [k, v] = splitAssignment(a);
    config[fullKey(project, k)] = v;
    secretKeys.delete(fullKey(project, k));
  }
  for (const a of secrets) {
    const [k, v] = splitAssignment(a);
    config[fullKey(project, k)] = v;
    secretKeys.add(fullKey(project, k));
  }
  return { config, secretKeys: [...secretKeys].sort() };
}
