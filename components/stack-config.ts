import { ReplicaSetSettings, SettingsError, normaliseSettings, settingsProblems } from "./settings";
import { nearest } from "./suggest";

/** Stack configuration keys of the contract whose values are plain (not secret). */
const INTEGER_KEYS = [
  "standbys",
  "primary",
  "hostPort",
  "endpointPort",
  "replicationConnectionLimit",
  "synchronousStandbys",
  "etcdMembers",
] as const;
const BOOLEAN_KEYS = ["replicationSlots", "walArchive", "acceptDataLoss"] as const;
const STRING_KEYS = [
  "clusterName",
  "image",
  "bindAddress",
  "database",
  "superuser",
  "replicationUser",
  "rewindUser",
  "maxSlotWalKeepSize",
  "failover",
] as const;
const OBJECT_KEYS = ["backup", "restore"] as const;
const SECRET_KEYS = ["superuserPassword", "replicationPassword", "rewindPassword"] as const;
export const KNOWN_KEYS: readonly string[] = [
  ...STRING_KEYS,
  ...INTEGER_KEYS,
  ...BOOLEAN_KEYS,
  "parameters",
  ...OBJECT_KEYS,
  ...SECRET_KEYS,
];

/** Reads the raw text of one stack config key (without the project prefix), if set. */
export type RawConfigReader = (key: string) => string | undefined;

// A value that does not parse is passed on unchanged, so that validation reports it with the
// text the user wrote and what is allowed.
function parseInteger(raw: string): number | string {
  return /^\s*-?[0-9]+\s*$/.test(raw) ? Number(raw) : raw;
}

function parseBoolean(raw: string): boolean | string {
  if (raw === "true") return true;
  if (raw === "false") return false;
  return raw;
}

function parseObject(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The known key a misspelt one most likely meant, if any is close enough. */
export function nearestKey(key: string): string | undefined {
  return nearest(key, KNOWN_KEYS);
}

function unknownKeyProblem(key: string): string {
  const nearest = nearestKey(key);
  return (
    `${key}: is not a configuration key` +
    (nearest ? `; did you mean ${nearest}?` : `; known keys are ${KNOWN_KEYS.join(", ")}`)
  );
}

/**
 * Turns the raw text of the stack configuration into replica set settings, with defaults for
 * keys not set. Throws one SettingsError naming every bad key, its value and what is allowed,
 * including keys in the project's namespace that the contract does not know.
 */
export function settingsFromStackConfig(
  read: RawConfigReader,
  keysPresent: readonly string[] = [],
): ReplicaSetSettings {
  const given: Record<string, unknown> = {};
  for (const key of STRING_KEYS) given[key] = read(key);
  for (const key of INTEGER_KEYS) {
    const raw = read(key);
    given[key] = raw === undefined ? undefined : parseInteger(raw);
  }
  for (const key of BOOLEAN_KEYS) {
    const raw = read(key);
    given[key] = raw === undefined ? undefined : parseBoolean(raw);
  }
  const rawParameters = read("parameters");
  given.parameters = rawParameters === undefined ? undefined : parseObject(rawParameters);
  for (const key of OBJECT_KEYS) {
    const raw = read(key);
    given[key] = raw === undefined ? undefined : parseObject(raw);
  }

  const unknown = keysPresent.filter((key) => !KNOWN_KEYS.includes(key)).map(unknownKeyProblem);

  // The values are unchecked here; settingsProblems checks every type and range.
  const settings = normaliseSettings(given as Partial<ReplicaSetSettings>);
  const problems = [...unknown, ...settingsProblems(settings)];
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}
