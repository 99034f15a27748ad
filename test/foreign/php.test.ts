/**
 * Foreign handlers - PHP: GearmanManager's handler functions and classes, on pecl-gearman's
 * GearmanJob method names, run unchanged under the pool; echo and print() cannot break the
 * protocol; a handler process killed -9 mid-job fails only that job and is respawned; a file
 * with a parse error stops the pool from starting, saying where.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { startPool } from "../../src/pool/supervisor.ts";
import { describeGearmand, startGearmand } from "../support/gearmand.ts";
import { eventually } from "../support/eventually.ts";
import { memorySink, tempDir } from "../pool/helpers.ts";
import { Client, clientSees, FIXTURES, FOREIGN_ENV, watchTask } from "./helpers.ts";

Object.assign(process.env, FOREIGN_ENV);
const HANDLERS = join(FIXTURES, "handlers.php");

const NOISY = `<?php
echo "echoed at load: must not break the protocol\\n";
return [
    'noisy' => function ($job) {
        echo "echoed in a job\\n";
        print("printed in a job\\n");
        trigger_error('a notice', E_USER_NOTICE);
        return ['size' => $job->workloadSize(), 'handle_set' => $job->handle() !== ''];
    },
];
`;

describeGearmand("foreign handlers - php", () => {
  test("php - GearmanManager functions and classes, pecl GearmanJob methods, binary payloads, JSON results, echo at load and in a job", async () => {
    await using g = await startGearmand();
    const dir = tempDir({ "noisy.php": NOISY });
    const sink = memorySink();
    const pool = await startPool(
      { handlers: [HANDLERS, join(dir, "noisy.php")], servers: g.address, processes: 1, concurrency: 2, log: "json" },
      { sink },
    );
    try {
      await using client = new Client({ servers: g.address });
      expect(await clientSees(client, "legacy", "abc")).toEqual(["status 1/1", "complete legacy::cba"]);
      expect(await clientSees(client, "legacy_upper", "abc")).toEqual(["complete ABC"]);
      expect(JSON.parse(await client.submit("noisy", "12345").text())).toEqual({ size: 5, handle_set: true });
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      expect(await client.submit("echo", every)).toEqual(every);
      // GearmanManager's $log lines reach the pool's log.
      expect(sink.lines.join("\n")).toContain("legacy: reversing 3 bytes");
      expect(sink.lines.join("\n")).toContain("echoed in a job");
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
    }
  }, 30_000);

  test("php - a kill -9 mid-job fails only that job with a clear text; the handler process is respawned", async () => {
    await using g = await startGearmand();
    const pool = await startPool(
      {
        handlers: HANDLERS,
        servers: g.address,
        processes: 1,
        concurrency: 1,
        functions: { slow: { timeout: 20_000 } },
      },
      { sink: memorySink() },
    );
    try {
      await using client = new Client({ servers: g.address });
      const first = Number(await client.submit("pid", "").text());
      const slow = watchTask(client.submit("slow", "x"));
      await eventually(() => slow.events.includes("data started"), "the slow job running");
      process.kill(first, "SIGKILL");
      const killed = await slow.done;
      expect(killed.at(-1)).toBe("fail");
      expect(killed.join("\n")).toContain(`handler process ${first} `);
      expect(killed.join("\n")).toContain("died (signal SIGKILL) while running job");
      const second = Number(await client.submit("pid", "").text());
      expect(second).not.toBe(first);
      expect(await clientSees(client, "reverse", "abc")).toEqual(["complete cba"]);
    } finally {
      expect(await pool.stop({ deadline: 2000 })).toBe(true);
    }
  }, 30_000);

  test("php - a file with a parse error stops the pool from starting, saying where", async () => {
    await using g = await startGearmand();
    const dir = tempDir({ "broken.php": "<?php\nreturn ['x' => function ($job) { return 1 }];\n" });
    const started = startPool(
      { handlers: join(dir, "broken.php"), servers: g.address, processes: 1, startTimeout: 3000 },
      { sink: memorySink() },
    );
    await expect(started).rejects.toThrow(/broken\.php: ParseError: syntax error, .* \(broken\.php, line 2\)/);
  }, 30_000);
});
