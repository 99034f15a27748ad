/**
 * The real callers a job's answer must reach (docs/semantics.md): gearbun's Client, libgearman's
 * `gearman` CLI, PHP's gearman extension (GearmanClient::doNormal) and Perl's Gearman::Client.
 * Each submits one foreground job and reports what its user would see, normalised to one shape.
 * A missing PHP, Perl or module is an error, never a skip (CI installs them).
 */
import { join } from "node:path";
import { Client } from "../../src/client/client.ts";
import { JobExceptionError, JobFailedError } from "../../src/errors.ts";
import { gearmanCliPath } from "./gearmand-process.ts";
import { run } from "./processes.ts";

export const CALLERS = ["gearbun", "gearman-cli", "php", "perl"] as const;
export type CallerKind = (typeof CALLERS)[number];

/** What a caller saw. */
export interface Answer {
  /** complete: a result; fail: the job failed (with `reason` when the caller shows one); hung: no answer within the bound; died: the caller crashed. */
  readonly outcome: "complete" | "fail" | "exception" | "hung" | "died";
  readonly result: string;
  /** The failure's text as this caller shows it ("" when it shows none: PHP's doNormal returns only GEARMAN_WORK_FAIL). */
  readonly reason: string;
  /** Time to the answer, ms. */
  readonly ms: number;
  /** The raw report, for a failing test's message. */
  readonly raw: string;
}

const here = import.meta.dir;
const PHP = Bun.which("php");
const PERL = Bun.which("perl");

function hostPort(address: string): [string, string] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), address.slice(colon + 1)];
}

/** Throws when a caller cannot run here (missing php-gearman, libgearman-client-perl or gearman-tools). */
export async function checkCallers(): Promise<void> {
  if (gearmanCliPath === null) throw new Error("the gearman CLI is missing: apt-get install gearman-tools");
  if (PHP === null) throw new Error("php is missing: apt-get install php-cli php-gearman");
  const ext = await run([PHP, "-r", 'echo extension_loaded("gearman") ? "yes" : "no";']);
  if (ext.out !== "yes") throw new Error("PHP's gearman extension is missing: apt-get install php-gearman");
  if (PERL === null) throw new Error("perl is missing");
  const mod = await run([PERL, "-MGearman::Client", "-MJSON::PP", "-e", "print 1"]);
  if (mod.out !== "1") throw new Error("Perl's Gearman::Client is missing: apt-get install libgearman-client-perl");
}

/** Submits `fn(payload)` as `kind` would and waits up to `boundMs` for its answer. */
export async function call(
  kind: CallerKind,
  address: string,
  fn: string,
  payload: string,
  boundMs: number,
): Promise<Answer> {
  const [host, port] = hostPort(address);
  const t0 = performance.now();
  const took = (): number => Math.round(performance.now() - t0);
  switch (kind) {
    case "gearbun": {
      await using client = new Client({ servers: address });
      const task = client.submit(fn, payload, { timeout: boundMs });
      try {
        const result = await task.text();
        return { outcome: "complete", result, reason: "", ms: took(), raw: result };
      } catch (error) {
        const ms = took();
        if (error instanceof JobFailedError)
          return { outcome: "fail", result: "", reason: error.detail, ms, raw: error.message };
        if (error instanceof JobExceptionError)
          return { outcome: "exception", result: "", reason: error.detail, ms, raw: error.message };
        return { outcome: "hung", result: "", reason: "", ms, raw: String(error) };
      }
    }
    case "gearman-cli": {
      const r = await run([gearmanCliPath!, "-h", host, "-p", port, "-f", fn, "-s", payload], { timeoutMs: boundMs });
      const raw = JSON.stringify(r);
      if (r.hung) return { outcome: "hung", result: "", reason: "", ms: took(), raw };
      if (r.code === 0) return { outcome: "complete", result: r.out, reason: "", ms: took(), raw };
      // libgearman's CLI writes a WORK_WARNING's text to stderr as it comes, then "Job failed".
      return { outcome: "fail", result: "", reason: r.err.replace(/Job failed\n?$/, "").trim(), ms: took(), raw };
    }
    case "php":
    case "perl": {
      const cmd =
        kind === "php"
          ? [PHP!, join(here, "callers", "php-caller.php"), host, port, fn, payload]
          : [PERL!, join(here, "callers", "perl-caller.pl"), host, port, fn, payload];
      const r = await run(cmd, { timeoutMs: boundMs });
      const raw = JSON.stringify(r);
      if (r.hung) return { outcome: "hung", result: "", reason: "", ms: took(), raw };
      let seen: Record<string, unknown>;
      try {
        seen = JSON.parse(r.out) as Record<string, unknown>;
      } catch {
        return { outcome: "died", result: "", reason: r.err.trim(), ms: took(), raw };
      }
      const warnings = (seen.warnings as string[]).join("\n");
      if (kind === "php") {
        // GEARMAN_SUCCESS 0, GEARMAN_WORK_EXCEPTION 23, GEARMAN_WORK_FAIL 24
        const code = seen.code as number;
        if (code === 0) return { outcome: "complete", result: String(seen.result), reason: "", ms: took(), raw };
        return { outcome: code === 23 ? "exception" : "fail", result: "", reason: warnings, ms: took(), raw };
      }
      if (seen.died !== null) return { outcome: "died", result: "", reason: String(seen.died), ms: took(), raw };
      if (seen.exception !== null)
        return { outcome: "exception", result: "", reason: String(seen.exception), ms: took(), raw };
      if (seen.failed === true) return { outcome: "fail", result: "", reason: warnings, ms: took(), raw };
      return { outcome: "complete", result: String(seen.result ?? ""), reason: "", ms: took(), raw };
    }
  }
}
