import * as pulumi from "@pulumi/pulumi";
// The mock monitor's registration request carries dependsOn and deleteBeforeReplace, which
// the public MockResourceArgs leave out; the tests need both to check ordering and options.
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

// Not in the package's type declarations; it settles once every outstanding RPC has finished.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as {
  waitForRPCs: () => Promise<void>;
};

/** A resource as the program registered it. */
export interface RegisteredResource {
  readonly type: string;
  readonly name: string;
  /** Name of the parent resource ("" for none). */
  readonly parent: string;
  /** Inputs with secrets unwrapped. */
  readonly inputs: Record<string, unknown>;
  /** Top-level input names whose value is (or contains) a secret. */
  readonly secretInputs: string[];
  /** Names of the resources this one waits for: dependsOn and those its inputs come from. */
  readonly dependencies: string[];
  readonly deleteBeforeReplace: boolean;
  readonly ignoreChanges: string[];
  readonly additionalSecretOutputs: string[];
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (deps: { getUrnsList(): string[] }) => void): void };
}

let recorded: RegisteredResource[] = [];

// How the mock runtime hands over a secret input: { [SIG_KEY]: SECRET_SIG, value }.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

function containsSecret(value: unknown): boolean {
  if (isSecretValue(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecret);
  return false;
}

function unwrapSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** The last segment of a URN is the resource's name. */
const nameOf = (urn: string): string => urn.split("::").pop() ?? "";
let pendingRegistrations: RegisterRequest[] = [];

type RegisterFn = (req: RegisterRequest, callback: unknown) => Promise<void>;
const prototype = MockMonitor.prototype as unknown as { registerResource: RegisterFn };
const originalRegister = prototype.registerResource;
prototype.registerResource = async function (this: unknown, req, callback) {
  pendingRegistrations.push(req);
  return originalRegister.call(this, req, callback);
};

/** Installs Pulumi mocks whose resources echo their inputs and get deterministic IDs. */
export function installMocks(): void {
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const req = pendingRegistrations.find(
          (r) => r.getType() === args.type && r.getName() === args.name,
        );
        const dependencies = new Set(req?.getDependenciesList() ?? []);
        req
          ?.getPropertydependenciesMap()
          .forEach((deps) => deps.getUrnsList().forEach((urn) => dependencies.add(urn)));
        recorded.push({
          type: args.type,
          name: args.name,
          parent: nameOf(req?.getParent() ?? ""),
          inputs: unwrapSecrets(args.inputs) as Record<string, unknown>,
          secretInputs: Object.keys(args.inputs).filter((key) => containsSecret(args.inputs[key])),
          dependencies: [...dependencies].map(nameOf),
          deleteBeforeReplace: req?.getDeletebeforereplace() ?? false,
          ignoreChanges: req?.getIgnorechangesList() ?? [],
          additionalSecretOutputs: req?.getAdditionalsecretoutputsList() ?? [],
        });
        const state: Record<string, unknown> = { ...(unwrapSecrets(args.inputs) as object) };
        if (args.type === "docker:index/remoteImage:RemoteImage")
          state.imageId = "sha256:test-image";
        if (args.type.startsWith("random:")) state.result = `generated-${args.name}`;
        // What image-id.sh prints: the ID the tag pointed to when `image` was set.
        if (args.name.endsWith("-image-id")) state.stdout = "sha256:pinned-image";
        if (args.name.endsWith("-engine-image")) state.stdout = "sha256:engine-image";
        // What the rollout pins (primary-image.sh, patroni.sh image) print: the image given.
        if (/-(primary|\d+)-image$/.test(args.name)) {
          state.stdout = (state.environment as Record<string, unknown>).IMAGE;
        }
        return { id: `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    "postgres-replication",
    "test",
    false,
  );
}

/**
 * Runs `build` (which registers resources) and returns everything registered, after every
 * registration has completed.
 */
export async function recordProgram(build: () => void): Promise<RegisteredResource[]> {
  recorded = [];
  pendingRegistrations = [];
  build();
  // A registration can start only after the ones it depends on have finished, so wait until
  // a full round of outstanding RPCs ends without anything new being registered.
  let seen = -1;
  while (seen !== recorded.length) {
    seen = recorded.length;
    await waitForRPCs();
    await new Promise((tick) => setImmediate(tick));
  }
  return recorded;
}

/** Resolves an Output (or plain value) for assertions. */
export function resolve<T>(value: pulumi.Output<T>): Promise<T> {
  return new Promise((resolvePromise) =>
    value.apply((v) => {
      resolvePromise(v as unknown as T);
    }),
  );
}
