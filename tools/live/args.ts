/**
 * The harness's command line: the Pulumi CLI's verbs and flags it implements, so a walkthrough
 * written for `pulumi` runs with `npm run live --` in its place, plus the harness's own flags.
 */

export type Verb =
  | "config"
  | "config set"
  | "config get"
  | "config rm"
  | "stack output"
  | "preview"
  | "up"
  | "refresh"
  | "destroy";

interface FlagSpec {
  name: string;
  aliases?: string[];
  /** Name of the value it takes (`--stack NAME`); absent: a boolean flag. */
  value?: string;
  /** Not listed in messages (the harness's internal flags). */
  hidden?: boolean;
}

interface VerbSpec {
  usage: string;
  flags: FlagSpec[];
  minArgs: number;
  maxArgs: number;
  /** `key=value` config overrides allowed (the harness's older form, still accepted). */
  assignments?: boolean;
}

const STACK: FlagSpec = { name: "--stack", aliases: ["-s"], value: "NAME" };
const PROGRAM: FlagSpec = { name: "--program", aliases: ["-C", "--cwd"], value: "DIR" };
const STATE_DIR: FlagSpec = { name: "--state-dir", value: "DIR" };
const YES: FlagSpec = { name: "--yes", aliases: ["-y"] };
const REFRESH: FlagSpec = { name: "--refresh", aliases: ["-r"] };
const SKIP_PREVIEW: FlagSpec = { name: "--skip-preview" };
const NON_INTERACTIVE: FlagSpec = { name: "--non-interactive" };
const SECRET_ASSIGNMENT: FlagSpec = { name: "--secret", value: "KEY=VALUE" };
const SHOW_SECRETS: FlagSpec = { name: "--show-secrets" };
const JSON_OUT: FlagSpec = { name: "--json", aliases: ["-j"] };
const PATH: FlagSpec = { name: "--path" };
const DIFF: FlagSpec = { name: "--diff" };

const SPECS: Record<Verb, VerbSpec> = {
  config: {
    usage: "config [--show-secrets] [--json]",
    flags: [SHOW_SECRETS, JSON_OUT, STACK, PROGRAM],
    minArgs: 0,
    maxArgs: 0,
  },
  "config set": {
    usage: "config set [--secret] [--path] KEY [VALUE]",
    flags: [{ name: "--secret" }, { name: "--plaintext" }, PATH, STACK, PROGRAM],
    minArgs: 1,
    maxArgs: 2,
  },
  "config get": {
    usage: "config get [--path] [--json] KEY",
    flags: [PATH, JSON_OUT, STACK, PROGRAM],
    minArgs: 1,
    maxArgs: 1,
  },
  "config rm": {
    usage: "config rm [--path] KEY",
    flags: [PATH, STACK, PROGRAM],
    minArgs: 1,
    maxArgs: 1,
  },
  "stack output": {
    usage: "stack output [--show-secrets] [--json] [NAME]",
    flags: [SHOW_SECRETS, JSON_OUT, STACK, PROGRAM, STATE_DIR],
    minArgs: 0,
    maxArgs: 1,
  },
  preview: {
    usage: "preview [--refresh] [key=value ...] [--secret key=value ...]",
    flags: [
      REFRESH,
      DIFF,
      SECRET_ASSIGNMENT,
      STACK,
      PROGRAM,
      STATE_DIR,
      { name: "--plan-out", value: "FILE", hidden: true },
    ],
    minArgs: 0,
    maxArgs: 0,
    assignments: true,
  },
  up: {
    usage:
      "up [--yes] [--refresh] [--skip-preview] [--outputs-json FILE] [key=value ...] " +
      "[--secret key=value ...]",
    flags: [
      YES,
      REFRESH,
      SKIP_PREVIEW,
      NON_INTERACTIVE,
      DIFF,
      { name: "--outputs-json", value: "FILE" },
      SECRET_ASSIGNMENT,
      STACK,
      PROGRAM,
      STATE_DIR,
    ],
    minArgs: 0,
    maxArgs: 0,
    assignments: true,
  },
  refresh: {
    usage: "refresh [--yes]",
    flags: [YES, SKIP_PREVIEW, NON_INTERACTIVE, STACK, PROGRAM, STATE_DIR],
    minArgs: 0,
    maxArgs: 0,
  },
  destroy: {
    usage: "destroy [--yes]",
    flags: [YES, SKIP_PREVIEW, NON_INTERACTIVE, SECRET_ASSIGNMENT, STACK, PROGRAM, STATE_DIR],
    minArgs: 0,
    maxArgs: 0,
    assignments: true,
  },
};

const VERB_ALIASES: Record<string, Verb> = { update: "up" };
const CONFIG_SUBVERBS: Record<string, Verb> = {
  set: "config set",
  get: "config get",
  rm: "config rm",
  remove: "config rm",
};

export const VERBS = Object.keys(SPECS) as Verb[];

export function usage(): string {
  const lines = VERBS.map((v) => `  npm run live -- ${SPECS[v].usage}`);
  return [
    "usage (the Pulumi CLI's verbs; every command also takes --stack NAME (default dev) and",
    "--program DIR (default: the repository root); up, preview, refresh, destroy and stack",
    "output take --state-dir DIR):",
    ...lines,
  ].join("\n");
}

export class UsageError extends Error {}

export interface Args {
  verb: Verb;
  help: boolean;
  stack: string;
  program?: string;
  stateDir?: string;
  yes: boolean;
  refresh: boolean;
  skipPreview: boolean;
  nonInteractive: boolean;
  showSecrets: boolean;
  json: boolean;
  secret: boolean;
  path: boolean;
  outputsJson?: string;
  planOut?: string;
  positional: string[];
  overrides: string[];
  secrets: string[];
}

function flagList(spec: VerbSpec): string {
  return spec.flags
    .filter((f) => !f.hidden)
    .map((f) => [f.name, ...(f.aliases ?? [])].join("|") + (f.value ? ` ${f.value}` : ""))
    .join(", ");
}

function describeVerb(verb: Verb): string {
  return `\`npm run live -- ${verb}\``;
}

/** Parses `argv` (what follows `npm run live --`); throws UsageError with what is valid. */
export function parseArgs(argv: string[]): Args {
  const rest = [...argv];
  const word = rest.shift();
  if (word === undefined || word === "help" || word === "--help" || word === "-h") {
    return { ...defaults("up"), help: true };
  }
  let verb: Verb;
  if (word === "config") {
    const sub = rest[0];
    if (sub !== undefined && !sub.startsWith("-")) {
      const found = CONFIG_SUBVERBS[sub];
      if (!found) {
        throw new UsageError(
          `unknown command "config ${sub}"; valid: config (lists the values), config set, ` +
            `config get, config rm`,
        );
      }
      verb = found;
      rest.shift();
    } else verb = "config";
  } else if (word === "stack") {
    const sub = rest.shift();
    if (sub !== "output") {
      throw new UsageError(
        `${sub === undefined ? "missing" : `unknown`} command "stack${sub ? ` ${sub}` : ""}"; ` +
          "the harness implements stack output only",
      );
    }
    verb = "stack output";
  } else if (VERB_ALIASES[word] || (VERBS as string[]).includes(word)) {
    verb = VERB_ALIASES[word] ?? (word as Verb);
  } else {
    throw new UsageError(
      `unknown command "${word}"; valid commands: config, config set, config get, config rm, ` +
        `stack output, preview, up, refresh, destroy`,
    );
  }
  const spec = SPECS[verb];
  const args = defaults(verb);
  let flagsDone = false;
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i];
    if (!flagsDone && token === "--") {
      flagsDone = true;
      continue;
    }
    if (!flagsDone && (token === "--help" || token === "-h")) {
      args.help = true;
      continue;
    }
    if (!flagsDone && token.startsWith("-") && token.length > 1 && !/^-\d/.test(token)) {
      const eq = token.startsWith("--") ? token.indexOf("=") : -1;
      const name = eq > 0 ? token.slice(0, eq) : token;
      const flag = spec.flags.find((f) => f.name === name || (f.aliases ?? []).includes(name));
      if (!flag) {
        throw new UsageError(
          `unknown flag ${name} for ${describeVerb(verb)}; valid flags: ${flagList(spec)}`,
        );
      }
      let value: string | undefined;
      if (flag.value) {
        value = eq > 0 ? token.slice(eq + 1) : rest[++i];
        if (value === undefined) {
          throw new UsageError(`${flag.name} needs a value (${flag.name} ${flag.value})`);
        }
      } else if (eq > 0) {
        const v = token.slice(eq + 1);
        if (v !== "true" && v !== "false") {
          throw new UsageError(`${flag.name} takes no value (or =true/=false), got "${v}"`);
        }
        if (v === "false") continue;
      }
      apply(args, flag.name, value);
      continue;
    }
    if (spec.assignments && /^[^=\s-][^=\s]*=/.test(token)) args.overrides.push(token);
    else args.positional.push(token);
  }
  if (args.help) return args;
  if (args.positional.length < spec.minArgs || args.positional.length > spec.maxArgs) {
    const got = args.positional.length;
    const extra = spec.assignments ? " (config overrides are written key=value)" : "";
    throw new UsageError(
      `${describeVerb(verb)} takes ${
        spec.minArgs === spec.maxArgs ? spec.maxArgs : `${spec.minArgs} to ${spec.maxArgs}`
      } argument(s), got ${got}${got ? ` (${args.positional.join(" ")})` : ""}${extra}\n` +
        `usage: npm run live -- ${spec.usage}`,
    );
  }
  return args;
}

function defaults(verb: Verb): Args {
  return {
    verb,
    help: false,
    stack: "dev",
    yes: false,
    refresh: false,
    skipPreview: false,
    nonInteractive: false,
    showSecrets: false,
    json: false,
    secret: false,
    path: false,
    positional: [],
    overrides: [],
    secrets: [],
  };
}

function apply(args: Args, name: string, value: string | undefined): void {
  const v = value as string;
  switch (name) {
    case "--stack":
      if (!/^[A-Za-z0-9_.-]+$/.test(v)) {
        throw new UsageError(`stack name "${v}": use letters, digits, '-', '_' and '.' only`);
      }
      args.stack = v;
      break;
    case "--program":
      args.program = v;
      break;
    case "--state-dir":
      args.stateDir = v;
      break;
    case "--outputs-json":
      args.outputsJson = v;
      break;
    case "--plan-out":
      args.planOut = v;
      break;
    case "--yes":
      args.yes = true;
      break;
    case "--refresh":
      args.refresh = true;
      break;
    case "--skip-preview":
      args.skipPreview = true;
      break;
    case "--non-interactive":
      args.nonInteractive = true;
      break;
    case "--show-secrets":
      args.showSecrets = true;
      break;
    case "--json":
      args.json = true;
      break;
    case "--path":
      args.path = true;
      break;
    case "--plaintext":
      break;
    case "--diff":
      break;
    case "--secret":
      if (value === undefined) args.secret = true;
      else args.secrets.push(v);
      break;
    default:
      throw new UsageError(`unhandled flag ${name}`);
  }
}

export function verbUsage(verb: Verb): string {
  const spec = SPECS[verb];
  return `usage: npm run live -- ${spec.usage}\nflags: ${flagList(spec)}`;
}
