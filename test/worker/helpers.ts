/** Small helpers shared by the worker tests. */
import { join } from "node:path";
import { spawnLines, type LineProcess } from "../../src/util/lines.ts";

export const reverse = (s: string): string => s.split("").reverse().join("");

/** Re-exported for the tests that import it from here; the one implementation is in test/support. */
export { eventually } from "../support/eventually.ts";

const FIXTURES = join(import.meta.dir, "fixtures");
const SUPPORT = join(import.meta.dir, "..", "support");

/** A gearbun Worker in its own process (fixtures/worker-process.ts). */
export function spawnWorkerProcess(servers: readonly string[], id: string, extra: string[] = []): LineProcess {
  return spawnLines([
    process.execPath,
    join(FIXTURES, "worker-process.ts"),
    "--servers",
    servers.join(","),
    "--id",
    id,
    ...extra,
  ]);
}

/** A codec submitter process (support/submitter.ts): `count` foreground jobs, payload = unique. */
export function spawnSubmitter(servers: readonly string[], fn: string, count: number, prefix: string): LineProcess {
  return spawnLines([
    process.execPath,
    join(SUPPORT, "submitter.ts"),
    "--servers",
    servers.join(","),
    "--function",
    fn,
    "--count",
    String(count),
    "--prefix",
    prefix,
  ]);
}
