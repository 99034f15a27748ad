/**
 * The soak pool's handler: records each run's start and end in the runs ledger (one JSON line per
 * event, appended; a line this short is written whole) and answers `done:ID`. The payload is
 * "ID WORK_MS". Loaded by `gearbun worker` in the soak; SOAK_RUNS names the ledger file.
 */
import { appendFileSync } from "node:fs";

const LEDGER = process.env.SOAK_RUNS;
if (LEDGER === undefined) throw new Error("SOAK_RUNS is not set: the soak's handlers need their ledger file");

function record(id: string, ev: "start" | "end"): void {
  appendFileSync(LEDGER!, `${JSON.stringify({ id, ev, pid: process.pid, at: Date.now() })}\n`);
}

export default {
  soak: async (job: { text(): string }) => {
    const [id = "", ms = "0"] = job.text().split(" ");
    record(id, "start");
    await Bun.sleep(Number(ms));
    record(id, "end");
    return `done:${id}`;
  },
};
