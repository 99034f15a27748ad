/**
 * The worker programs the worker rows compare, by id: the libgearman C worker, gearbun's worker at
 * concurrency 1 and 16, and the npm Gearman libraries under Node and Bun. Each knows the command
 * that starts it against a list of servers.
 */
import { join } from "node:path";
import { BUN, type CPeers, ECHO_FN, PEERS_DIR } from "./support.ts";

export interface WorkerPeer {
  readonly id: string;
  readonly label: string;
  /** A Node library worker: slow, so its rows use the case's smaller job count. */
  readonly slow: boolean;
  command(servers: readonly string[]): string[];
}

function npmPeer(lib: string, runtime: "node" | "bun", concurrency?: number): WorkerPeer {
  const runtimeLabel = runtime === "node" ? "Node" : "Bun";
  return {
    id: `${lib}-${runtime}`,
    label: `${lib} (${runtimeLabel}${concurrency !== undefined ? `, maxJobs ${concurrency}` : ""})`,
    slow: true,
    command: (servers) => [
      runtime === "bun" ? BUN : runtime,
      join(PEERS_DIR, `${lib}-worker.mjs`),
      "--servers",
      servers.join(","),
      "--fn",
      ECHO_FN,
      ...(concurrency !== undefined ? ["--concurrency", String(concurrency)] : []),
    ],
  };
}

function gearbunPeer(concurrency: number): WorkerPeer {
  return {
    id: `gearbun-c${concurrency}`,
    label: `gearbun (concurrency ${concurrency})`,
    slow: false,
    command: (servers) => [
      BUN,
      join(PEERS_DIR, "gearbun-worker.ts"),
      "--servers",
      servers.join(","),
      "--fn",
      ECHO_FN,
      "--concurrency",
      String(concurrency),
    ],
  };
}

export function peerTable(c: CPeers | null): Map<string, WorkerPeer> {
  const peers: WorkerPeer[] = [];
  if (c !== null) {
    peers.push({
      id: "c",
      label: "libgearman C",
      slow: false,
      command: (servers) => [c.worker, "-s", servers.join(","), "-f", ECHO_FN],
    });
  }
  peers.push(gearbunPeer(1), gearbunPeer(16));
  const node = Bun.which("node") !== null;
  for (const runtime of node ? (["node", "bun"] as const) : (["bun"] as const)) {
    peers.push(npmPeer("abraxas", runtime, 16), npmPeer("gearmanode", runtime), npmPeer("gearman", runtime));
  }
  return new Map(peers.map((p) => [p.id, p]));
}
