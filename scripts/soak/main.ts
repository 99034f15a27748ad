/**
 * `bun run soak [--minutes N] [--seed S] [--keep]`: a ledger soak of the whole runtime against
 * docs/semantics.md. Two embedded job servers with durable stores (`gearbun server --store`), a
 * `gearbun worker` pool on both, two client processes submitting foreground and background jobs
 * with ids; random faults from a printed seed (SIGKILL a pool child, SIGHUP the pool, SIGKILL and
 * restart a server, SIGSTOP a server for 10 s, restart a client); then the faults stop, the clients
 * drain, the background jobs are waited for, and the ledger is checked (ledger.ts). Prints the
 * counts; exits 1 on a violation, 2 on bad flags. All traffic stays on 127.0.0.1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type LineProcess, spawnLines } from "../../src/util/lines.ts";
import { type ClientLedger, type ClientRecord, checkLedger, type FaultKind, type FaultRecord, type RunRecord } from "./ledger.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "cli", "main.ts");
const HANDLERS = join(import.meta.dir, "handlers.ts");
const CLIENT = join(import.meta.dir, "client.ts");
const FAULTS: readonly FaultKind[] = ["kill-child", "reload", "kill-server", "stop-server", "restart-client"];

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    seed: { type: "string" },
    rate: { type: "string", default: "20" },
    keep: { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!(minutes > 0) || !(rate > 0)) {
  console.error("soak: --minutes and --rate must be positive numbers");
  process.exit(2);
}
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
let state = seed >>> 0;
const random = (): number => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const log = (text: string): void => console.log(`${new Date().toISOString().slice(11, 23)} ${text}`);

const dir = mkdtempSync(join(tmpdir(), "gearbun-soak-"));
const runsFile = join(dir, "runs.jsonl");
writeFileSync(runsFile, "");
log(`soak: ${minutes} min, seed ${seed}, ${rate} jobs/s per client, files in ${dir}`);

async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

interface ServerSlot {
  readonly port: number;
  readonly store: string;
  proc: LineProcess;
}

async function startServer(port: number, store: string): Promise<LineProcess> {
  const proc = spawnLines([process.execPath, MAIN, "server", "-p", String(port), "--store", store, "-l", "none"], {
    stderr: "inherit",
  });
  // Ready once it answers a connection.
  for (let i = 0; i < 100; i++) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      return proc;
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error(`soak: the server on port ${port} did not come up`);
}

const servers: ServerSlot[] = [];
for (let i = 0; i < 2; i++) {
  const port = await freePort();
  const store = join(dir, `server-${i}.db`);
  servers.push({ port, store, proc: await startServer(port, store) });
}
const serverList = servers.map((s) => `127.0.0.1:${s.port}`).join(",");
const pool = spawnLines(
  [
    process.execPath,
    MAIN,
    "worker",
    HANDLERS,
    "--servers",
    serverList,
    "--processes",
    "2",
    "--concurrency",
    "4",
    "--stop-deadline",
    "2",
    "--heartbeat-timeout",
    "5",
    "--dead-letter",
    join(dir, "dead.db"),
    "--log",
    "events",
  ],
  { env: { ...process.env, SOAK_RUNS: runsFile }, stderr: "inherit" },
);
await pool.waitLine((l) => l.includes('"event":"started"'), "the pool's started line", 30_000);

interface ClientSlot {
  readonly name: string;
  proc: LineProcess;
  killed: boolean;
}
const finished: ClientLedger[] = [];
let clientSerial = 0;
function startClient(): ClientSlot {
  const name = `c${++clientSerial}`;
  const proc = spawnLines([process.execPath, CLIENT, name, serverList, String(rate), String(seed + clientSerial)], {
    stderr: "inherit",
  });
  return { name, proc, killed: false };
}
function ledgerOf(slot: ClientSlot): ClientLedger {
  const records = slot.proc.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as ClientRecord);
  return { name: slot.name, endedNormally: !slot.killed, records };
}
const clients = [startClient(), startClient()];

/** The pool's children, from /proc (the supervisor's direct children). */
function poolChildren(): number[] {
  try {
    return readFileSync(`/proc/${pool.pid}/task/${pool.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const faults: FaultRecord[] = [];
async function inject(kind: FaultKind): Promise<void> {
  const at = Date.now();
  switch (kind) {
    case "kill-child": {
      const children = poolChildren();
      if (children.length === 0) return;
      const pid = pick(children);
      process.kill(pid, "SIGKILL");
      faults.push({ kind, at, until: at, detail: `SIGKILL child ${pid}` });
      break;
    }
    case "reload":
      process.kill(pool.pid, "SIGHUP");
      faults.push({ kind, at, until: at + 10_000, detail: "SIGHUP the pool" });
      break;
    case "kill-server": {
      const s = pick(servers);
      process.kill(s.proc.pid, "SIGKILL");
      await s.proc.stop(100);
      await Bun.sleep(1000);
      s.proc = await startServer(s.port, s.store);
      faults.push({ kind, at, until: Date.now(), detail: `SIGKILL and restart the server on ${s.port}` });
      break;
    }
    case "stop-server": {
      const s = pick(servers);
      process.kill(s.proc.pid, "SIGSTOP");
      await Bun.sleep(10_000);
      process.kill(s.proc.pid, "SIGCONT");
      faults.push({ kind, at, until: Date.now(), detail: `SIGSTOP the server on ${s.port} for 10 s` });
      break;
    }
    case "restart-client": {
      const i = Math.floor(random() * clients.length);
      const old = clients[i]!;
      old.killed = true;
      process.kill(old.proc.pid, "SIGKILL");
      await old.proc.stop(100);
      finished.push(ledgerOf(old));
      clients[i] = startClient();
      faults.push({ kind, at, until: at, detail: `SIGKILL client ${old.name}, started ${clients[i]!.name}` });
      break;
    }
  }
  log(`fault: ${faults.at(-1)?.detail ?? kind}`);
}

const endAt = Date.now() + minutes * 60_000;
while (Date.now() < endAt) {
  await Bun.sleep(4000 + Math.floor(random() * 6000));
  if (Date.now() >= endAt) break;
  await inject(pick(FAULTS));
}

log("faults over: draining the clients");
await Promise.all(
  clients.map(async (c) => {
    await c.proc.stop(75_000);
    finished.push(ledgerOf(c));
  }),
);
const runs = (): RunRecord[] =>
  readFileSync(runsFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunRecord);
// Background jobs still queued (or re-queued) run now: wait until every created one has ended.
const createdBackground = new Set(
  finished.flatMap((c) => c.records.filter((r) => r.ev === "created").map((r) => r.id)),
);
const drainUntil = Date.now() + 90_000;
while (Date.now() < drainUntil) {
  const ended = new Set(runs().filter((r) => r.ev === "end").map((r) => r.id));
  const missing = [...createdBackground].filter((id) => !ended.has(id)).length;
  if (missing === 0) break;
  await Bun.sleep(1000);
}
log("stopping the pool and the servers");
await pool.stop(15_000);
await Promise.all(servers.map((s) => s.proc.stop(2000)));

const verdict = checkLedger(finished, runs(), faults);
const c = verdict.counts;
const byKind = Object.fromEntries(FAULTS.map((k) => [k, faults.filter((f) => f.kind === k).length]));
console.log(
  [
    `soak: seed ${seed}, ${minutes} min, ${faults.length} faults ${JSON.stringify(byKind)}`,
    `foreground ${c.foreground}: completed ${c.completed}, typed errors ${c.failedTyped} ${JSON.stringify(c.errorsByCode)}, abandoned by killed clients ${c.abandoned}`,
    `background ${c.background}: not created ${c.backgroundNotCreated}`,
    `handler runs ${c.runs}; jobs run more than once ${c.duplicates}, explained by an at-least-once path ${c.duplicatesExplained}`,
    `violations ${verdict.violations.length}`,
    ...verdict.violations.slice(0, 20).map((v) => `  ${v}`),
  ].join("\n"),
);
if (!values.keep) rmSync(dir, { recursive: true, force: true });
process.exit(verdict.violations.length === 0 ? 0 : 1);
