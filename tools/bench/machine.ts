/** What the benchmark ran on. */
import * as fs from "fs";
import * as os from "os";
import { docker, run } from "../../tests/support/docker";
import { MachineInfo } from "./types";

export async function machineInfo(image: string): Promise<MachineInfo> {
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  const nproc = await run("nproc", []);
  const server = await docker(["version", "--format", "{{.Server.Version}}"]);
  const postgres = await docker([
    "run",
    "--rm",
    "--network",
    "none",
    "--entrypoint",
    "postgres",
    image,
    "--version",
  ]);
  const running = await docker(["ps", "--format", "{{.Names}}"]);
  const others = running.stdout.split("\n").filter((n) => n !== "" && !n.startsWith("prb-"));
  return {
    date: new Date().toISOString(),
    nproc: Number(nproc.stdout.trim()),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    kernel: `${os.type()} ${os.release()}`,
    dockerServerVersion: server.stdout.trim(),
    postgresVersion: postgres.stdout.trim(),
    image,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    otherContainersAtStart: others.length,
  };
}
