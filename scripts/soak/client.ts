/**
 * A soak client process: submits foreground and background jobs with ids at a steady rate and
 * prints one JSON line per event (submit, created, settled) on stdout, the driver's ledger of
 * what a caller saw. SIGTERM: stop submitting, wait for the jobs still out (bounded), exit 0.
 *
 *   bun scripts/soak/client.ts NAME SERVERS RATE_PER_S SEED
 */
import { Client } from "../../src/client/client.ts";
import { GearmanError } from "../../src/errors.ts";

const [name = "c", servers = "", rateArg = "20", seedArg = "1"] = process.argv.slice(2);
const rate = Number(rateArg);
let seed = Number(seedArg) >>> 0;
const random = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const print = (record: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...record, at: Date.now() })}\n`);
};

// A foreground job may wait out a frozen or restarting server; 60 s bounds every wait.
const client = new Client({ servers, timeout: 60_000 });
const outstanding = new Set<Promise<void>>();
let n = 0;
let stopping = false;

function submitOne(): void {
  const background = random() < 0.3;
  const id = `${background ? "bg" : "fg"}:${name}:${++n}`;
  const payload = `${id} ${Math.floor(random() * 150) + 5}`;
  print({ ev: "submit", id, kind: background ? "bg" : "fg" });
  const settled = (outcome: string, extra: Record<string, unknown> = {}): void => print({ ev: "settled", id, outcome, ...extra });
  const failed = (error: unknown): void =>
    settled(error instanceof GearmanError ? error.code : "UNTYPED", { message: String((error as Error)?.message ?? error) });
  const p: Promise<void> = background
    ? client.submitBackground("soak", payload).then(
        () => print({ ev: "created", id }),
        (e: unknown) => failed(e),
      )
    : client
        .submit("soak", payload)
        .text()
        .then(
          (result) => settled("complete", { result }),
          (e: unknown) => failed(e),
        );
  outstanding.add(p);
  void p.finally(() => outstanding.delete(p));
}

const timer = setInterval(() => {
  if (!stopping) submitOne();
}, 1000 / rate);

process.on("SIGTERM", async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await Promise.race([Promise.all(outstanding), Bun.sleep(70_000)]);
  await client.close();
  process.exit(0);
});
