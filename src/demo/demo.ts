/**
 * The multi-server stall scenario, solved, on screen: two job servers, worker processes each connected to
 * both, clients submitting foreground jobs in rounds. With workers that drop a wake-up
 * (python-gearman), some stop receiving jobs from a server after a round or two; gearbun's never
 * do. `naive: true` runs the scenario with naive workers first, then with gearbun's, on the same
 * servers, and forces the race once in each run (see forceRace).
 */
import { join } from "node:path";
import { Client } from "../client/client.ts";
import { formatAddress, parseServers } from "../connection/servers.ts";
import { TLS_ENVIRONMENT, type TlsOptions } from "../options.ts";
import { ConfigError } from "../errors.ts";
import { startServer, type EmbeddedServer } from "../server/server.ts";
import { spawnWorkers, stopWorkers, type WorkerProcess } from "./processes.ts";
import { countJob, emptyTally, findStalls, formatResult, verdict, type DemoResult, type RoundTally } from "./report.ts";

export { formatResult, verdict, type DemoResult, type RoundTally } from "./report.ts";

export interface DemoOptions {
  /** Worker processes. @default 8 */
  workers: number;
  /** Clients, each submitting `jobs` per round. @default 2 */
  clients: number;
  /** Jobs per client per round. @default 500 */
  jobs: number;
  /** @default 6 */
  rounds: number;
  /** Simulated work per job in ms. @default 2 */
  workMs: number;
  /** External servers ("h:p,h:p", "tls://h:p") instead of two embedded ones. */
  servers?: string;
  /**
   * TLS to every one of `servers`, with these files (paths) or libgearman's environment
   * variables. The worker processes get the files through those variables. @default false
   */
  tls?: Pick<TlsOptions, "ca" | "cert" | "key">;
  /** Run python-gearman-style naive workers first, then gearbun's, and compare. */
  naive?: boolean;
  /** Where lines go. @default console.log */
  print?: (line: string) => void;
  /** Milliseconds between rounds. @default 200 */
  pauseMs?: number;
  /** A round gives up once no job has completed for this long (jobs stuck on a server). @default 2000 */
  stallMs?: number;
}

/** What a run of rounds reports to its caller besides the tallies. */
interface RoundsPlan {
  kind: DemoResult["kind"];
  functionName: string;
  /** Runs before round `beforeRound` (1-based), between rounds. */
  force?: { beforeRound: number; run: () => Promise<string> };
  names?: Map<string, string>;
}

function bar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total}`;
}

/** Waits until every client is connected to every server, so round 1 spreads like the others. */
async function connected(clients: Client[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!clients.every((c) => c.servers().every((s) => s.state === "ready")) && Date.now() < deadline) {
    await Bun.sleep(10);
  }
}

/** Runs the rounds against already running workers; returns the tallies. */
async function runRounds(
  plan: RoundsPlan,
  workerIds: string[],
  servers: string[],
  options: DemoOptions,
  reach: Reach,
): Promise<DemoResult> {
  const { kind } = plan;
  const print = options.print ?? ((line: string) => console.log(line));
  const stallMs = options.stallMs ?? 2000;
  const clients = Array.from(
    { length: options.clients },
    () => new Client({ servers: servers.map(reach.entry), tls: options.tls, timeout: 30_000 }),
  );
  const tty = process.stdout.isTTY === true && options.print === undefined;
  const rounds: RoundTally[] = [];
  const run = Math.random().toString(36).slice(2, 8);
  const started = performance.now();
  let completed = 0;
  try {
    await connected(clients);
    for (let r = 1; r <= options.rounds; r++) {
      if (plan.force !== undefined && plan.force.beforeRound === r) print(await plan.force.run());
      const tally = emptyTally();
      const total = options.clients * options.jobs;
      let done = 0;
      let open = true;
      let lastProgress = performance.now();
      const t0 = performance.now();
      const label = `${kind.padEnd(7)} round ${r}/${options.rounds} `;
      const progress = setInterval(() => {
        if (tty) process.stdout.write(`\r${label}${bar(done, total)}`);
      }, 50);
      const pending = new Set<ReturnType<Client["submit"]>>();
      const jobs: Promise<void>[] = [];
      for (let c = 0; c < clients.length; c++) {
        const client = clients[c]!;
        for (let i = 0; i < options.jobs; i++) {
          const payload = `${r}:${c}:${i}`;
          const task = client.submit(plan.functionName, payload, { unique: `${run}-${kind}-r${r}-c${c}-j${i}` });
          pending.add(task);
          jobs.push(
            task.text().then(
              (text) => {
                if (!open) return; // done after its round gave up: not counted
                pending.delete(task);
                const cut = text.indexOf("|");
                if (text.slice(cut + 1) !== payload) tally.wrong++;
                countJob(tally, text.slice(0, cut), task.server ?? "?");
                done++;
                lastProgress = performance.now();
              },
              () => {
                if (!open) return;
                pending.delete(task);
                tally.failed++;
                done++;
                lastProgress = performance.now();
              },
            ),
          );
        }
      }
      // Every job done, or none done for stallMs: jobs stuck on a server that never wakes a worker.
      const all = Promise.all(jobs).then(() => true);
      while (!(await Promise.race([all, Bun.sleep(50).then(() => false)]))) {
        if (performance.now() - lastProgress > stallMs) {
          tally.timedOut = true;
          break;
        }
      }
      open = false;
      clearInterval(progress);
      for (const task of pending) {
        const server = task.server ?? "?";
        tally.unfinished.set(server, (tally.unfinished.get(server) ?? 0) + 1);
      }
      tally.ms = performance.now() - t0;
      completed += done - tally.failed;
      rounds.push(tally);
      const gaveUp = tally.timedOut ? `, gave up on ${pending.size} jobs (none done for ${stallMs} ms)` : "";
      const line = `${label}${bar(done, total)} ${tally.ms.toFixed(0)} ms${gaveUp}`;
      if (tty) process.stdout.write(`\r${line}\n`);
      else print(line);
      if (r < options.rounds) await Bun.sleep(options.pauseMs ?? 200);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  const starved: DemoResult["starved"] = [];
  for (const id of workerIds) {
    const round = rounds.findIndex((t) => (t.byWorker.get(id) ?? 0) === 0);
    if (round >= 0) starved.push({ worker: id, round: round + 1 });
  }
  const stalls = findStalls(workerIds, servers, rounds);
  const unfinished = rounds.reduce((a, t) => a + [...t.unfinished.values()].reduce((x, y) => x + y, 0), 0);
  const clean = rounds.every((t) => t.wrong === 0 && t.failed === 0);
  return {
    kind,
    workerIds,
    servers,
    names: plan.names,
    perServer: plan.names !== undefined,
    rounds,
    starved,
    stalls,
    unfinished,
    jobsPerSecond: completed / ((performance.now() - started) / 1000),
    ok: starved.length === 0 && stalls.length === 0 && unfinished === 0 && clean,
  };
}

/**
 * The lost wake-up, forced (the sequence of test/stall/naive-worker-stalls.test.ts, with demo workers): `holder` runs a held job
 * from server A; a job on server B wakes it (and the others) while it is busy; another worker
 * takes B's job; then the hold ends. A naive worker answered B's NOOP with PRE_SLEEP and B never
 * wakes it again; gearbun's remembers the wake and grabs from B once free.
 */
async function forceRace(
  holder: WorkerProcess,
  [a, b]: [string, string],
  functionName: string,
  holdFunction: string,
  names: Map<string, string>,
  reach: Reach,
  tls: DemoOptions["tls"],
): Promise<string> {
  const onA = new Client({ servers: reach.entry(a), tls, timeout: 10_000 });
  const onB = new Client({ servers: reach.entry(b), tls, timeout: 5_000 });
  const nameA = names.get(a) ?? a;
  const nameB = names.get(b) ?? b;
  try {
    const held = onA.submit(holdFunction, "hold");
    held.catch(() => {});
    await holder.waitFor("holding", 5_000);
    let taker: string;
    try {
      taker = (await onB.submit(functionName, "wake").text()).split("|")[0] ?? "?";
    } catch {
      taker = "";
    } finally {
      holder.release();
    }
    await held;
    return taker === ""
      ? `  forcing the race: ${holder.id} held a job from ${nameA}, but no worker took the job on ${nameB} within 5 s`
      : `  forcing the race: ${holder.id} busy with a held job from ${nameA} while a job on ${nameB} wakes it; ${taker} takes ${nameB}'s job`;
  } finally {
    await Promise.all([onA.close(), onB.close()]);
  }
}

/** How clients and worker processes reach the servers the report names by "host:port". */
interface Reach {
  /** The server list entry for a server ("tls://host:port" when it speaks TLS). */
  entry: (server: string) => string;
  /** libgearman's TLS variables, for the worker processes. */
  env: Record<string, string | undefined> | undefined;
}

const PLAINTEXT: Reach = { entry: (server) => server, env: undefined };

interface RunSpec {
  kind: DemoResult["kind"];
  script: string;
  functionName: string;
  /** "host:port" of each server, as the report shows them. */
  servers: string[];
  reach: Reach;
  /** Set for the naive comparison: server names and the race to force. */
  compare?: { names: Map<string, string> };
}

async function runWith(spec: RunSpec, options: DemoOptions): Promise<DemoResult> {
  const holdFunction = `${spec.functionName}-hold`;
  const canForce = spec.compare !== undefined && options.workers >= 2 && spec.servers.length >= 2;
  const holderId = canForce ? `W${Math.min(3, options.workers)}` : undefined;
  const workers = spawnWorkers(
    options.workers,
    {
      script: spec.script,
      servers: spec.servers.map(spec.reach.entry),
      env: spec.reach.env,
      workMs: options.workMs,
      functionName: spec.functionName,
      holdFunction,
    },
    holderId,
  );
  try {
    await Promise.all(workers.map((w) => w.waitFor("ready", 15_000)));
    const holder = workers.find((w) => w.id === holderId);
    const names = spec.compare?.names;
    const plan: RoundsPlan = { kind: spec.kind, functionName: spec.functionName, names };
    if (holder !== undefined && names !== undefined) {
      const pair: [string, string] = [spec.servers[0]!, spec.servers[1]!];
      plan.force = {
        beforeRound: Math.min(3, options.rounds),
        run: () => forceRace(holder, pair, spec.functionName, holdFunction, names, spec.reach, options.tls),
      };
    }
    return await runRounds(
      plan,
      workers.map((w) => w.id),
      spec.servers,
      options,
      spec.reach,
    );
  } finally {
    await stopWorkers(workers);
  }
}

/** The worker processes' environment with the TLS files set in libgearman's variables. */
function tlsEnvironment(tls: DemoOptions["tls"]): Record<string, string | undefined> | undefined {
  if (tls === undefined) return undefined;
  const env: Record<string, string | undefined> = { ...process.env };
  for (const field of ["ca", "cert", "key"] as const) {
    if (tls[field] !== undefined) env[TLS_ENVIRONMENT[field]] = tls[field];
  }
  return env;
}

/** Runs the demo; returns true when gearbun's verdict is good. */
export async function runDemo(options: DemoOptions): Promise<boolean> {
  const print = options.print ?? ((line: string) => console.log(line));
  const embedded: EmbeddedServer[] = [];
  let servers: string[];
  let reach = PLAINTEXT;
  if (options.servers) {
    const parsed = parseServers(options.servers).map((s) => (options.tls !== undefined ? { ...s, tls: true } : s));
    servers = parsed.map((s) => s.key);
    const entries = new Map(parsed.map((s) => [s.key, formatAddress(s)]));
    reach = { entry: (server) => entries.get(server) ?? server, env: tlsEnvironment(options.tls) };
  } else {
    if (options.tls !== undefined)
      throw new ConfigError("tls", "the demo's embedded servers speak plaintext: give servers too");
    embedded.push(await startServer({ port: 0, host: "127.0.0.1" }), await startServer({ port: 0, host: "127.0.0.1" }));
    servers = embedded.map((s) => s.address);
  }
  const gearbunScript = join(import.meta.dir, "worker-process.ts");
  try {
    if (!options.naive) {
      print(
        `gearbun demo: ${options.workers} worker processes on ${servers.join(" + ")}, ` +
          `${options.clients} clients x ${options.jobs} foreground jobs x ${options.rounds} rounds` +
          (options.servers ? "" : " (embedded job servers)"),
      );
      const result = await runWith(
        { kind: "gearbun", script: gearbunScript, functionName: "demo", servers, reach },
        options,
      );
      for (const line of formatResult(result)) print(line);
      return result.ok;
    }
    const names = new Map(servers.map((s, i) => [s, String.fromCharCode(65 + (i % 26))]));
    print(
      `gearbun demo --naive: ${options.workers} naive worker processes, then ${options.workers} gearbun worker processes, ` +
        `on ${servers.map((s) => `${names.get(s)} = ${s}`).join(", ")}` +
        (options.servers ? "" : " (embedded job servers)") +
        `; ${options.clients} clients x ${options.jobs} foreground jobs x ${options.rounds} rounds each`,
    );
    const compare = { names };
    const naive = await runWith(
      {
        kind: "naive",
        script: join(import.meta.dir, "naive-worker-process.ts"),
        functionName: "demo-naive",
        servers,
        reach,
        compare,
      },
      options,
    );
    for (const line of formatResult(naive)) print(line);
    print("");
    const gearbun = await runWith(
      { kind: "gearbun", script: gearbunScript, functionName: "demo", servers, reach, compare },
      options,
    );
    for (const line of formatResult(gearbun)) print(line);
    print("");
    print("verdicts:");
    print(`  ${verdict(naive)}`);
    print(`  ${verdict(gearbun)}`);
    return gearbun.ok;
  } finally {
    await Promise.all(embedded.map((s) => s.stop()));
  }
}
