/** Stand-ins for the docker provider's Network, Volume and RemoteImage (via the docker CLI). */
import { changedKeys, deepEqual } from "../diff";
import { docker, DockerError, dockerInspect } from "../exec";
import { isObject, Json, PropMap } from "../types";
import { CreateResult, Provider, rejectUnsupported } from "./types";

export function str(v: Json | undefined): string | undefined {
  return typeof v === "string" ? v : v === null || v === undefined ? undefined : String(v);
}

export function list(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

export function objects(v: Json | undefined): Record<string, Json>[] {
  return list(v).filter(isObject) as Record<string, Json>[];
}

/** `[{label, value}]` -> `--label k=v ...` */
export function labelArgs(labels: Json | undefined): string[] {
  return objects(labels).flatMap((l) => ["--label", `${str(l.label)}=${str(l.value) ?? ""}`]);
}

/** `{k: v}` -> `<flag> k=v ...` */
export function mapArgs(flag: string, map: Json | undefined): string[] {
  if (!isObject(map)) return [];
  return Object.entries(map).flatMap(([k, v]) => [flag, `${k}=${str(v) ?? ""}`]);
}

/** `[{label, value}]` (a set in the provider's schema; null and empty are the same) -> sorted. */
function labelSet(v: Json | undefined): [string, string][] {
  return objects(v)
    .map((l): [string, string] => [str(l.label) ?? "", str(l.value) ?? ""])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Docker's label map as the provider's Read stores it (in the program's order when equal). */
function labelsFromDocker(map: Record<string, string> | null, declared: Json | undefined): Json {
  const read: Json = Object.entries(map ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([label, value]) => ({ label, value }));
  return deepEqual(labelSet(read), labelSet(declared)) && Array.isArray(declared) ? declared : read;
}

/**
 * Runs `attempt` until it succeeds, retrying while `busy` matches its error, for as long as the
 * provider's StateChangeConf allows (30 s for volume and network deletes).
 */
async function retryWhileBusy(attempt: () => Promise<void>, busy: RegExp): Promise<void> {
  const timeoutSeconds = 30;
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (e) {
      if (!(e instanceof DockerError) || !busy.test(e.result.stderr)) throw e;
      if (Date.now() >= deadline) {
        throw new Error(
          `timeout while waiting for state to become 'removed' ` +
            `(last state: 'in_use', timeout: ${timeoutSeconds}s): ${e.message}`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export const networkProvider: Provider = {
  check(inputs) {
    rejectUnsupported("Network", inputs, [
      "name",
      "labels",
      "driver",
      "ipamConfigs",
      "ipamDriver",
      "internal",
      "attachable",
      "options",
      "ipv6",
    ]);
    for (const c of objects(inputs.ipamConfigs)) {
      rejectUnsupported("Network.ipamConfigs", c, ["subnet", "gateway", "ipRange", "auxAddress"]);
    }
  },
  // With a name that exists already (a create-before-delete replacement), Docker refuses.
  async create(_ctx, inputs): Promise<CreateResult> {
    const args = ["network", "create", ...labelArgs(inputs.labels)];
    if (str(inputs.driver)) args.push("--driver", str(inputs.driver) as string);
    if (str(inputs.ipamDriver)) args.push("--ipam-driver", str(inputs.ipamDriver) as string);
    if (inputs.internal === true) args.push("--internal");
    if (inputs.attachable === true) args.push("--attachable");
    if (inputs.ipv6 === true) args.push("--ipv6");
    args.push(...mapArgs("--opt", inputs.options));
    for (const c of objects(inputs.ipamConfigs)) {
      if (str(c.subnet)) args.push("--subnet", str(c.subnet) as string);
      if (str(c.gateway)) args.push("--gateway", str(c.gateway) as string);
      if (str(c.ipRange)) args.push("--ip-range", str(c.ipRange) as string);
      args.push(...mapArgs("--aux-address", c.auxAddress));
    }
    const name = str(inputs.name);
    if (!name) throw new Error("Network: name is required by the live harness");
    args.push(name);
    const id = await docker(args);
    const driver = await docker(["network", "inspect", "-f", "{{.Driver}}", id]);
    return { id, outputs: { ...inputs, name, driver } };
  },
  async delete(_ctx, old) {
    await retryWhileBusy(async () => {
      if ((await dockerInspect(["network", "inspect", old.id])) === undefined) return;
      await docker(["network", "rm", old.id]);
    }, /has active endpoints/i);
  },
  requiresReplace: () => true,
  // pulumi-docker asks for delete-before-replace for containers only.
  deleteBeforeReplace: () => false,
  async read(old) {
    if ((await dockerInspect(["network", "inspect", old.id])) === undefined) return undefined;
    return { id: old.id, outputs: old.outputs };
  },
};

interface VolumeInfo {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
}

async function volumeInfo(name: string): Promise<VolumeInfo | undefined> {
  const raw = await dockerInspect(["volume", "inspect", "-f", "{{json .}}", name]);
  return raw === undefined ? undefined : (JSON.parse(raw) as VolumeInfo);
}

/** The provider's Read: labels, driver and mountpoint as Docker has them. */
function volumeOutputs(base: PropMap, info: VolumeInfo, declared: Json | undefined): PropMap {
  return {
    ...base,
    name: info.Name,
    labels: labelsFromDocker(info.Labels, declared),
    driver: info.Driver,
    mountpoint: info.Mountpoint,
  };
}

export const volumeProvider: Provider = {
  check(inputs) {
    rejectUnsupported("Volume", inputs, ["name", "labels", "driver", "driverOpts"]);
  },
  // Docker's volume create is idempotent: with a name that exists already (a create-before-delete
  // replacement) it returns that volume unchanged, old labels included.
  async create(_ctx, inputs): Promise<CreateResult> {
    const args = ["volume", "create", ...labelArgs(inputs.labels)];
    if (str(inputs.driver)) args.push("--driver", str(inputs.driver) as string);
    args.push(...mapArgs("--opt", inputs.driverOpts));
    if (str(inputs.name)) args.push(str(inputs.name) as string);
    const name = await docker(args);
    const info = await volumeInfo(name);
    if (!info) throw new Error(`Volume: ${name} vanished right after creation`);
    return { id: name, outputs: volumeOutputs(inputs, info, inputs.labels) };
  },
  async delete(_ctx, old) {
    await retryWhileBusy(async () => {
      if ((await volumeInfo(old.id)) === undefined) return;
      await docker(["volume", "rm", "-f", old.id]);
    }, /volume is in use/i);
  },
  diff(old, inputs) {
    const changed = changedKeys({ ...old.inputs, labels: null }, { ...inputs, labels: null });
    const stateLabels = "labels" in old.outputs ? old.outputs.labels : old.inputs.labels;
    if (!deepEqual(labelSet(stateLabels), labelSet(inputs.labels))) changed.push("labels");
    return changed.sort();
  },
  requiresReplace: () => true,
  deleteBeforeReplace: () => false,
  async read(old) {
    const info = await volumeInfo(old.id);
    if (!info) return undefined;
    return { id: old.id, outputs: volumeOutputs(old.outputs, info, old.inputs.labels) };
  },
};

interface ImageInfo {
  Id: string;
  RepoDigests: string[] | null;
}

async function imageInfo(name: string): Promise<ImageInfo | undefined> {
  const raw = await dockerInspect(["image", "inspect", "-f", "{{json .}}", name]);
  return raw === undefined ? undefined : (JSON.parse(raw) as ImageInfo);
}

/** The provider's choice among several repo digests: the one of the named repository. */
function repoDigest(name: string, digests: string[] | null): string {
  if (!digests || digests.length === 0) return "";
  if (digests.length === 1) return digests[0];
  const colon = name.indexOf(":");
  const repo = colon >= 0 ? name.slice(0, colon) : name;
  return digests.find((d) => d.startsWith(repo)) ?? "";
}

/** What the tag `name` points to now: the provider's Read looks the name up, not the old ID. */
function imageOutputs(base: PropMap, name: string, info: ImageInfo): CreateResult {
  return {
    id: info.Id + name,
    outputs: { ...base, name, imageId: info.Id, repoDigest: repoDigest(name, info.RepoDigests) },
  };
}

/** Local image by name, pulled when absent (the provider's findImage). */
async function findImage(ctxPrint: (line: string) => void, name: string): Promise<ImageInfo> {
  let info = await imageInfo(name);
  if (!info) {
    ctxPrint(`image ${name} not present locally: docker pull`);
    await docker(["pull", name]);
    info = await imageInfo(name);
    if (!info) throw new Error(`RemoteImage: ${name} still absent after pull`);
  }
  return info;
}

export const remoteImageProvider: Provider = {
  check(inputs) {
    rejectUnsupported("RemoteImage", inputs, ["name", "keepLocally", "forceRemove"]);
  },
  async create(ctx, inputs): Promise<CreateResult> {
    const name = str(inputs.name);
    if (!name) throw new Error("RemoteImage: name is required");
    return imageOutputs(inputs, name, await findImage(ctx.print, name));
  },
  async update(ctx, old, inputs): Promise<CreateResult> {
    const name = str(inputs.name) as string;
    return imageOutputs({ ...old.outputs, ...inputs }, name, await findImage(ctx.print, name));
  },
  async delete(_ctx, old) {
    if (old.inputs.keepLocally === true) return;
    const name = str(old.inputs.name);
    if (!name || (await imageInfo(name)) === undefined) return;
    await docker(["image", "rm", ...(old.inputs.forceRemove === true ? ["-f"] : []), name]);
  },
  recomputedOnUpdate: ["imageId", "repoDigest"],
  requiresReplace: (changed) => changed.some((k) => k !== "keepLocally" && k !== "forceRemove"),
  deleteBeforeReplace: () => false,
  async read(old) {
    const name = str(old.inputs.name) ?? "";
    const info = await imageInfo(name);
    return info ? imageOutputs(old.outputs, name, info) : undefined;
  },
};
