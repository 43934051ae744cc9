/** Stand-ins for the docker provider's Network, Volume and RemoteImage (via the docker CLI). */
import { docker, dockerInspect } from "../exec";
import { isObject, Json, PropMap, ResourceState } from "../types";
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

/** Docker objects with a fixed name must be deleted before their replacement is created. */
function fixedName(_old: ResourceState, inputs: PropMap): boolean {
  return typeof inputs.name === "string" && inputs.name.length > 0;
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
    if ((await dockerInspect(["network", "inspect", old.id])) === undefined) return;
    await docker(["network", "rm", old.id]);
  },
  requiresReplace: () => true,
  deleteBeforeReplace: fixedName,
  async exists(old) {
    return (await dockerInspect(["network", "inspect", old.id])) !== undefined;
  },
};

export const volumeProvider: Provider = {
  check(inputs) {
    rejectUnsupported("Volume", inputs, ["name", "labels", "driver", "driverOpts"]);
  },
  async create(_ctx, inputs): Promise<CreateResult> {
    const args = ["volume", "create", ...labelArgs(inputs.labels)];
    if (str(inputs.driver)) args.push("--driver", str(inputs.driver) as string);
    args.push(...mapArgs("--opt", inputs.driverOpts));
    if (str(inputs.name)) args.push(str(inputs.name) as string);
    const name = await docker(args);
    const info = JSON.parse(await docker(["volume", "inspect", "-f", "{{json .}}", name])) as {
      Mountpoint: string;
      Driver: string;
    };
    return {
      id: name,
      outputs: { ...inputs, name, mountpoint: info.Mountpoint, driver: info.Driver },
    };
  },
  async delete(_ctx, old) {
    if ((await dockerInspect(["volume", "inspect", old.id])) === undefined) return;
    // The engine deletes containers first, but a just-removed container can hold the volume
    // for a moment: retry briefly like the provider does.
    for (let attempt = 0; ; attempt++) {
      try {
        await docker(["volume", "rm", old.id]);
        return;
      } catch (e) {
        if (attempt >= 10) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  },
  requiresReplace: () => true,
  deleteBeforeReplace: fixedName,
  async exists(old) {
    return (await dockerInspect(["volume", "inspect", old.id])) !== undefined;
  },
};

async function imageInfo(
  name: string,
): Promise<{ Id: string; RepoDigests: string[] | null } | undefined> {
  const raw = await dockerInspect(["image", "inspect", "-f", "{{json .}}", name]);
  return raw === undefined
    ? undefined
    : (JSON.parse(raw) as { Id: string; RepoDigests: string[] | null });
}

export const remoteImageProvider: Provider = {
  check(inputs) {
    rejectUnsupported("RemoteImage", inputs, ["name", "keepLocally", "forceRemove"]);
  },
  async create(ctx, inputs): Promise<CreateResult> {
    const name = str(inputs.name);
    if (!name) throw new Error("RemoteImage: name is required");
    let info = await imageInfo(name);
    if (!info) {
      ctx.print(`image ${name} not present locally: docker pull`);
      await docker(["pull", name]);
      info = await imageInfo(name);
      if (!info) throw new Error(`RemoteImage: ${name} still absent after pull`);
    }
    const repoDigest = info.RepoDigests?.[0] ?? "";
    return { id: info.Id + name, outputs: { ...inputs, name, imageId: info.Id, repoDigest } };
  },
  async update(_ctx, old, inputs): Promise<CreateResult> {
    return { id: old.id, outputs: { ...old.outputs, ...inputs } };
  },
  async delete(_ctx, old) {
    if (old.inputs.keepLocally === true) return;
    const args = ["image", "rm"];
    if (old.inputs.forceRemove === true) args.push("-f");
    const imageId = str(old.outputs.imageId);
    if (!imageId || (await imageInfo(imageId)) === undefined) return;
    await docker([...args, str(old.inputs.name) ?? imageId]);
  },
  requiresReplace: (changed) => changed.some((k) => k !== "keepLocally" && k !== "forceRemove"),
  deleteBeforeReplace: () => false,
  async exists(old) {
    const imageId = str(old.outputs.imageId);
    return imageId !== undefined && (await imageInfo(imageId)) !== undefined;
  },
};
