/** Stand-in for the docker provider's Container: `docker create` + uploads + `docker start`. */
import * as fs from "fs";
import { changedKeys, deepEqual } from "../diff";
import { docker, dockerInspect, run, tail } from "../exec";
import { goDuration } from "../gofmt";
import { makeTar, TarEntry } from "../tar";
import { isObject, Json, PropMap, ResourceState } from "../types";
import { labelArgs, list, mapArgs, objects, str } from "./docker";
import { CreateResult, OpContext, PartialCreateError, Provider, rejectUnsupported } from "./types";

const SUPPORTED = [
  "name",
  "image",
  "envs",
  "command",
  "entrypoints",
  "user",
  "labels",
  "mounts",
  "volumes",
  "ports",
  "networksAdvanced",
  "networkMode",
  "restart",
  "maxRetryCount",
  "healthcheck",
  "uploads",
  "stopSignal",
  "stopTimeout",
  "destroyGraceSeconds",
  "logDriver",
  "logOpts",
  "mustRun",
  "start",
  "wait",
  "waitTimeout",
  "hostname",
  "domainname",
  "init",
  "rm",
  "workingDir",
  "privileged",
  "readOnly",
  "shmSize",
  "memory",
  "tmpfs",
  "sysctls",
  "hosts",
  "dns",
  "capabilities",
  "removeVolumes",
  "publishAllPorts",
  "tty",
  "stdinOpen",
  "containerReadRefreshTimeoutMilliseconds",
];

function flagArgs(flag: string, v: Json | undefined): string[] {
  const s = str(v);
  return s !== undefined && s !== "" ? [flag, s] : [];
}

/** The CMD-SHELL command the harness runs for an exec-form (`CMD`) healthcheck. */
function shellForm(argv: string[]): string {
  return argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
}

function healthArgs(hc: Json | undefined): string[] {
  if (!isObject(hc)) return [];
  rejectUnsupported("Container.healthcheck", hc, [
    "tests",
    "interval",
    "timeout",
    "retries",
    "startPeriod",
    "startInterval",
  ]);
  const tests = list(hc.tests).map(String);
  const args: string[] = [];
  if (tests[0] === "NONE") return ["--no-healthcheck"];
  if (tests[0] === "CMD-SHELL") args.push("--health-cmd", tests.slice(1).join(" "));
  else if (tests[0] === "CMD") {
    // docker run can only express the shell form: quote each argument for /bin/sh.
    args.push("--health-cmd", shellForm(tests.slice(1)));
  } else if (tests.length > 0)
    throw new Error(`healthcheck.tests must start with CMD, CMD-SHELL or NONE`);
  const dur = (flag: string, v: Json | undefined): void => {
    const s = str(v);
    if (s && s !== "0s" && s !== "0") args.push(flag, s);
  };
  dur("--health-interval", hc.interval);
  dur("--health-timeout", hc.timeout);
  dur("--health-start-period", hc.startPeriod);
  dur("--health-start-interval", hc.startInterval);
  if (typeof hc.retries === "number" && hc.retries > 0) {
    args.push("--health-retries", String(hc.retries));
  }
  return args;
}

function mountArgs(m: Record<string, Json>): string[] {
  rejectUnsupported("Container.mounts", m, [
    "type",
    "source",
    "target",
    "readOnly",
    "bindOptions",
    "volumeOptions",
    "tmpfsOptions",
  ]);
  const parts = [`type=${str(m.type)}`];
  if (str(m.source)) parts.push(`source=${str(m.source)}`);
  parts.push(`target=${str(m.target)}`);
  if (m.readOnly === true) parts.push("readonly");
  if (isObject(m.bindOptions)) {
    rejectUnsupported("mounts.bindOptions", m.bindOptions, ["propagation"]);
    if (str(m.bindOptions.propagation)) parts.push(`bind-propagation=${m.bindOptions.propagation}`);
  }
  if (isObject(m.volumeOptions)) {
    const vo = m.volumeOptions;
    rejectUnsupported("mounts.volumeOptions", vo, [
      "noCopy",
      "driverName",
      "driverOptions",
      "labels",
    ]);
    if (vo.noCopy === true) parts.push("volume-nocopy");
    if (str(vo.driverName)) parts.push(`volume-driver=${str(vo.driverName)}`);
    if (isObject(vo.driverOptions)) {
      for (const [k, v] of Object.entries(vo.driverOptions))
        parts.push(`volume-opt=${k}=${str(v)}`);
    }
    for (const l of objects(vo.labels)) parts.push(`volume-label=${str(l.label)}=${str(l.value)}`);
  }
  if (isObject(m.tmpfsOptions)) {
    rejectUnsupported("mounts.tmpfsOptions", m.tmpfsOptions, ["sizeBytes", "mode"]);
    if (typeof m.tmpfsOptions.sizeBytes === "number")
      parts.push(`tmpfs-size=${m.tmpfsOptions.sizeBytes}`);
    if (typeof m.tmpfsOptions.mode === "number")
      parts.push(`tmpfs-mode=${m.tmpfsOptions.mode.toString(8)}`);
  }
  if (parts.some((p) => p.includes(","))) throw new Error(`mount values must not contain commas`);
  return ["--mount", parts.join(",")];
}

function volumeArgs(v: Record<string, Json>): string[] {
  rejectUnsupported("Container.volumes", v, [
    "volumeName",
    "hostPath",
    "containerPath",
    "readOnly",
  ]);
  const source = str(v.volumeName) ?? str(v.hostPath);
  const target = str(v.containerPath);
  if (!target) throw new Error("Container.volumes: containerPath is required");
  const spec = (source ? `${source}:` : "") + target + (v.readOnly === true ? ":ro" : "");
  return ["--volume", spec];
}

function portArgs(p: Record<string, Json>): string[] {
  rejectUnsupported("Container.ports", p, ["internal", "external", "ip", "protocol"]);
  const ip = str(p.ip) ?? "0.0.0.0";
  const external = str(p.external) ?? "";
  return ["--publish", `${ip}:${external}:${str(p.internal)}/${str(p.protocol) ?? "tcp"}`];
}

/** Everything `docker create` needs, minus extra networks (connected afterwards). */
export function createArgs(inputs: PropMap, name: string): string[] {
  const a: string[] = ["create", "--name", name, ...labelArgs(inputs.labels)];
  for (const e of list(inputs.envs)) a.push("--env", String(e));
  a.push(...flagArgs("--user", inputs.user), ...flagArgs("--hostname", inputs.hostname));
  a.push(
    ...flagArgs("--domainname", inputs.domainname),
    ...flagArgs("--workdir", inputs.workingDir),
  );
  a.push(
    ...flagArgs("--stop-signal", inputs.stopSignal),
    ...flagArgs("--stop-timeout", inputs.stopTimeout),
  );
  a.push(...flagArgs("--log-driver", inputs.logDriver), ...mapArgs("--log-opt", inputs.logOpts));
  if (inputs.init === true) a.push("--init");
  if (inputs.rm === true) a.push("--rm");
  if (inputs.privileged === true) a.push("--privileged");
  if (inputs.readOnly === true) a.push("--read-only");
  if (inputs.tty === true) a.push("--tty");
  if (inputs.stdinOpen === true) a.push("--interactive");
  if (inputs.publishAllPorts === true) a.push("--publish-all");
  if (typeof inputs.shmSize === "number") a.push("--shm-size", `${inputs.shmSize}m`);
  if (typeof inputs.memory === "number") a.push("--memory", `${inputs.memory}m`);
  const restart = str(inputs.restart);
  if (restart) {
    const retries = typeof inputs.maxRetryCount === "number" ? inputs.maxRetryCount : 0;
    a.push(
      "--restart",
      restart === "on-failure" && retries > 0 ? `on-failure:${retries}` : restart,
    );
  }
  if (isObject(inputs.tmpfs)) {
    for (const [path, opts] of Object.entries(inputs.tmpfs)) {
      a.push("--tmpfs", str(opts) ? `${path}:${str(opts)}` : path);
    }
  }
  a.push(...mapArgs("--sysctl", inputs.sysctls));
  for (const h of objects(inputs.hosts)) a.push("--add-host", `${str(h.host)}:${str(h.ip)}`);
  for (const d of list(inputs.dns)) a.push("--dns", String(d));
  if (isObject(inputs.capabilities)) {
    rejectUnsupported("Container.capabilities", inputs.capabilities, ["adds", "drops"]);
    for (const c of list(inputs.capabilities.adds)) a.push("--cap-add", String(c));
    for (const c of list(inputs.capabilities.drops)) a.push("--cap-drop", String(c));
  }
  a.push(...healthArgs(inputs.healthcheck));
  for (const m of objects(inputs.mounts)) a.push(...mountArgs(m));
  for (const v of objects(inputs.volumes)) a.push(...volumeArgs(v));
  for (const p of objects(inputs.ports)) a.push(...portArgs(p));
  const networks = objects(inputs.networksAdvanced);
  if (networks.length > 0 && str(inputs.networkMode)) {
    throw new Error("Container: networkMode together with networksAdvanced is not implemented");
  }
  a.push(...flagArgs("--network", inputs.networkMode));
  if (networks.length > 0) a.push(...networkArgs(networks[0], "--network", "--network-alias"));
  const entrypoints = list(inputs.entrypoints).map(String);
  if (entrypoints.length > 0) a.push("--entrypoint", entrypoints[0]);
  const image = str(inputs.image);
  if (!image) throw new Error("Container: image is required");
  // docker's --entrypoint takes one word: the rest of a multi-word entrypoint precedes the command.
  a.push(image, ...entrypoints.slice(1), ...list(inputs.command).map(String));
  return a;
}

function networkArgs(n: Record<string, Json>, netFlag: string, aliasFlag: string): string[] {
  rejectUnsupported("Container.networksAdvanced", n, [
    "name",
    "aliases",
    "ipv4Address",
    "ipv6Address",
  ]);
  const a = netFlag ? [netFlag, String(n.name)] : [];
  for (const alias of list(n.aliases)) a.push(aliasFlag, String(alias));
  a.push(...flagArgs("--ip", n.ipv4Address), ...flagArgs("--ip6", n.ipv6Address));
  return a;
}

function uploadEntries(inputs: PropMap): TarEntry[] {
  return objects(inputs.uploads).map((u) => {
    rejectUnsupported("Container.uploads", u, [
      "file",
      "content",
      "contentBase64",
      "executable",
      "permissions",
      "source",
      "sourceHash",
      "owner",
      "group",
    ]);
    const file = str(u.file);
    if (!file || !file.startsWith("/")) throw new Error(`uploads.file must be an absolute path`);
    let content: Buffer;
    if (typeof u.content === "string") content = Buffer.from(u.content, "utf8");
    else if (typeof u.contentBase64 === "string") content = Buffer.from(u.contentBase64, "base64");
    else if (typeof u.source === "string") content = fs.readFileSync(u.source);
    else throw new Error(`uploads ${file}: one of content, contentBase64, source is required`);
    const mode = str(u.permissions)
      ? parseInt(str(u.permissions) as string, 8)
      : u.executable === true
        ? 0o744
        : 0o644;
    const id = (v: Json | undefined, what: string): number | undefined => {
      const s = str(v);
      if (s === undefined) return undefined;
      if (!/^\d+$/.test(s)) throw new Error(`uploads ${file}: ${what} must be numeric here`);
      return Number(s);
    };
    return {
      path: file.slice(1),
      content,
      mode,
      uid: id(u.owner, "owner"),
      gid: id(u.group, "group"),
    };
  });
}

/**
 * Attributes of docker_container (provider v4.5.0, resource_docker_container.go) that are not
 * ForceNew: a change to only these is an in-place update. Update (resource_docker_container_funcs.go)
 * acts on mustRun (starts the container when it flips to true) and on restart/maxRetryCount/memory
 * (ContainerUpdate); the others are only written to state.
 */
const IN_PLACE = [
  "rm",
  "start",
  "wait",
  "waitTimeout",
  "mustRun",
  "restart",
  "maxRetryCount",
  "removeVolumes",
  "tmpfs",
  "destroyGraceSeconds",
  "memory",
  "healthcheck",
  "containerReadRefreshTimeoutMilliseconds",
  "init",
];
const CONTAINER_UPDATE = ["restart", "maxRetryCount", "memory"];
/** Inputs whose state value comes from Read (docker inspect) rather than from the inputs. */
const READ_BACK = ["healthcheck", "mustRun", "ports"];

interface DockerHealthcheck {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

interface Inspect {
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    Health?: { Status: string } | null;
  };
  Config: { Healthcheck?: DockerHealthcheck | null };
  NetworkSettings: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
}

async function inspectContainer(id: string): Promise<Inspect | undefined> {
  const raw = await dockerInspect(["container", "inspect", "-f", "{{json .}}", id]);
  return raw === undefined ? undefined : (JSON.parse(raw) as Inspect);
}

async function logsTail(id: string): Promise<string> {
  const r = await run("docker", ["logs", "--tail", "20", id]);
  return tail(r.stdout + r.stderr, 20);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The provider's `wait`: poll about once a second until the container is healthy. Unhealthy,
 * exited or restarting containers are polled on; only `waitTimeout` ends the wait.
 */
async function waitHealthy(id: string, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const info = await inspectContainer(id);
    if (!info) throw new Error(`error inspecting container state: No such container: ${id}`);
    const health = info.State.Health;
    if (!health) {
      throw new Error(
        "you have supplied a 'wait' argument, but the container does not have a healthcheck " +
          "defined. Please remove the 'wait' argument or add a 'healthcheck' attribute",
      );
    }
    if (health.Status === "healthy") return;
    const left = deadline - Date.now();
    if (left <= 1000) {
      await sleep(Math.max(0, left));
      throw new Error("container failed to be in healthy state");
    }
    await sleep(1000);
  }
}

/** The healthcheck as the provider's Read stores it: durations in Go's Duration.String(). */
function healthcheckFromDocker(hc: DockerHealthcheck, declared: Json | undefined): Json {
  let tests: Json = (hc.Test ?? []).map(String);
  // The harness turned an exec-form test into a shell command; Docker would have kept it as is.
  const wanted = isObject(declared) ? list(declared.tests).map(String) : [];
  if (wanted[0] === "CMD" && deepEqual(tests, ["CMD-SHELL", shellForm(wanted.slice(1))])) {
    tests = wanted;
  }
  return {
    tests,
    interval: goDuration(hc.Interval ?? 0),
    timeout: goDuration(hc.Timeout ?? 0),
    startPeriod: goDuration(hc.StartPeriod ?? 0),
    startInterval: goDuration(hc.StartInterval ?? 0),
    retries: hc.Retries ?? 0,
  };
}

/** A healthcheck input with the schema's defaults filled in, as the provider plans it. */
function plannedHealthcheck(hc: Json | undefined): Json {
  if (!isObject(hc)) return null;
  return {
    tests: hc.tests ?? null,
    interval: hc.interval ?? "0s",
    timeout: hc.timeout ?? "0s",
    startPeriod: hc.startPeriod ?? "0s",
    startInterval: hc.startInterval ?? "0s",
    retries: hc.retries ?? 0,
  };
}

function plannedPorts(ports: Json | undefined): Json {
  return objects(ports).map((p) => ({
    internal: p.internal ?? null,
    external: p.external ?? null,
    ip: p.ip ?? "0.0.0.0",
    protocol: p.protocol ?? "tcp",
  }));
}

/** flattenContainerPorts: Docker's port map as the provider's Read stores it. */
function portsFromDocker(ports: Inspect["NetworkSettings"]["Ports"]): Json {
  const byPort = (k: string) => Number(k.split("/")[0]);
  return Object.keys(ports ?? {})
    .sort((a, b) => byPort(a) - byPort(b) || (a < b ? -1 : a > b ? 1 : 0))
    .flatMap((key) =>
      ((ports ?? {})[key] ?? []).map((b) => ({
        internal: byPort(key),
        external: Number(b.HostPort) || 0,
        ip: b.HostIp,
        protocol: key.split("/")[1] ?? "tcp",
      })),
    );
}

function effectiveMustRun(v: Json | undefined): boolean {
  return v !== false;
}

/** must_run as the state holds it (Read sets it to false for a stopped container). */
function stateMustRun(old: ResourceState): boolean {
  return effectiveMustRun("mustRun" in old.outputs ? old.outputs.mustRun : old.inputs.mustRun);
}

/**
 * The provider's Read for the attributes that can drift here: the healthcheck (re-formatted by
 * Go), and for a stopped container must_run (set to false when it was true) and, when ports are
 * configured and must_run was true, the (then empty) ports. Read also fills in other attributes;
 * for the inputs this harness implements they come back as configured.
 */
function readBack(info: Inspect, inputs: PropMap, mustRun: boolean): PropMap {
  const out: PropMap = { mustRun };
  if (info.Config.Healthcheck) {
    out.healthcheck = healthcheckFromDocker(info.Config.Healthcheck, inputs.healthcheck);
  }
  if (!info.State.Running && mustRun) {
    if (objects(inputs.ports).length > 0) out.ports = portsFromDocker(info.NetworkSettings.Ports);
    out.mustRun = false;
  }
  return out;
}

function withoutReadBack(m: PropMap): PropMap {
  const out: PropMap = { ...m };
  for (const k of READ_BACK) delete out[k];
  return out;
}

function stateValue(old: ResourceState, key: string): Json | undefined {
  return key in old.outputs ? old.outputs[key] : old.inputs[key];
}

function restartArgs(inputs: PropMap): string[] {
  const restart = str(inputs.restart) ?? "no";
  const retries = typeof inputs.maxRetryCount === "number" ? inputs.maxRetryCount : 0;
  return ["--restart", restart === "on-failure" && retries > 0 ? `on-failure:${retries}` : restart];
}

export const containerProvider: Provider = {
  check(inputs) {
    rejectUnsupported("Container", inputs, SUPPORTED);
  },

  async create(ctx: OpContext, inputs): Promise<CreateResult> {
    const name = str(inputs.name) ?? `${ctx.name}-${Math.random().toString(16).slice(2, 9)}`;
    const args = createArgs(inputs, name);
    const uploads = uploadEntries(inputs);
    const id = await docker(args);
    const result: CreateResult = { id, outputs: { ...inputs, id, name, image: inputs.image } };
    try {
      if (uploads.length > 0) await docker(["cp", "-", `${id}:/`], makeTar(uploads));
      for (const n of objects(inputs.networksAdvanced).slice(1)) {
        await docker(["network", "connect", ...networkArgs(n, "", "--alias"), String(n.name), id]);
      }
      if (inputs.start !== false) {
        await docker(["start", id]);
        if (inputs.wait === true) {
          const timeout = typeof inputs.waitTimeout === "number" ? inputs.waitTimeout : 60;
          await waitHealthy(id, timeout);
        } else if (inputs.mustRun !== false && inputs.rm !== true) {
          // Stricter than the provider, which would record must_run=false and start it later.
          const info = await inspectContainer(id);
          if (info && !info.State.Running) {
            throw new Error(`container exited with code ${info.State.ExitCode}`);
          }
        }
      }
    } catch (e) {
      const logs = await logsTail(id).catch(() => "");
      const msg = e instanceof Error ? e.message : String(e);
      throw new PartialCreateError(
        `container ${name}: ${msg}` + (logs ? `\ndocker logs (last lines):\n${logs}` : ""),
        result,
      );
    }
    // Create ends with Read.
    const info = await inspectContainer(id);
    if (info) {
      Object.assign(result.outputs, readBack(info, inputs, effectiveMustRun(inputs.mustRun)));
    }
    return result;
  },

  async update(_ctx, old, inputs, changed): Promise<CreateResult> {
    if (changed.includes("mustRun") && !stateMustRun(old) && effectiveMustRun(inputs.mustRun)) {
      if (inputs.start !== false) await docker(["start", old.id]);
    }
    if (changed.some((k) => CONTAINER_UPDATE.includes(k))) {
      const memory = typeof inputs.memory === "number" && inputs.memory > 0 ? inputs.memory : 0;
      const memoryArgs = memory > 0 ? ["--memory", `${memory}m`] : [];
      await docker(["update", ...restartArgs(inputs), ...memoryArgs, old.id]);
    }
    // Update does not end with Read: state takes the planned values.
    const outputs: PropMap = { ...inputs, id: old.id, name: old.outputs.name, image: inputs.image };
    outputs.mustRun = effectiveMustRun(inputs.mustRun);
    const hc = changed.includes("healthcheck")
      ? plannedHealthcheck(inputs.healthcheck)
      : old.outputs.healthcheck;
    if (hc !== undefined) outputs.healthcheck = hc;
    return { id: old.id, outputs };
  },

  async delete(_ctx, old) {
    if ((await inspectContainer(old.id)) === undefined) return;
    if (typeof old.inputs.destroyGraceSeconds === "number") {
      await run("docker", ["stop", "-t", String(old.inputs.destroyGraceSeconds), old.id]);
    }
    const args = ["rm", "-f"];
    if (old.inputs.removeVolumes !== false) args.push("-v");
    const r = await run("docker", [...args, old.id]);
    if (r.code !== 0 && !/no such container|is already in progress/i.test(r.stderr)) {
      throw new Error(`docker rm ${old.id} failed: ${tail(r.stderr, 5)}`);
    }
  },

  /** Like the bridged provider: the new inputs against the prior state (what Read stored). */
  diff(old, inputs) {
    const changed = changedKeys(withoutReadBack(old.inputs), withoutReadBack(inputs));
    // healthcheck is Optional+Computed: no configured value, no diff.
    if (isObject(inputs.healthcheck)) {
      const state = plannedHealthcheck(stateValue(old, "healthcheck"));
      const planned = plannedHealthcheck(inputs.healthcheck);
      if (isObject(planned) && isObject(state) && planned.tests === null) {
        planned.tests = state.tests;
      }
      if (!deepEqual(planned, state)) changed.push("healthcheck");
    }
    if (effectiveMustRun(inputs.mustRun) !== stateMustRun(old)) changed.push("mustRun");
    if (!deepEqual(plannedPorts(inputs.ports), plannedPorts(stateValue(old, "ports")))) {
      changed.push("ports");
    }
    return changed.sort();
  },

  requiresReplace: (changed) => changed.some((k) => !IN_PLACE.includes(k)),
  // pulumi-docker asks for delete-before-replace for every container.
  deleteBeforeReplace: () => true,

  async read(old) {
    const info = await inspectContainer(old.id);
    if (!info) return undefined;
    return {
      id: old.id,
      outputs: { ...old.outputs, ...readBack(info, old.inputs, stateMustRun(old)) },
    };
  },
};
