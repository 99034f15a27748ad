/**
 * `gearbun worker --check`: each group's handlers loaded the way its children load them — in a
 * child process of its own, the same code path, connecting to nothing — so a config that names a
 * missing function, a module that does not import, or a function exported twice is found before
 * a deploy. Resolves each group's functions, or rejects with PoolError LOAD_FAILED.
 */
import { PoolError } from "../errors.ts";
import type { ResolvedPoolOptions } from "../options.ts";
import { childCommand } from "./child-process.ts";
import { CHILD_CHECK_ENV, CHILD_SPEC_ENV } from "./ipc.ts";
import { childSpec, SlotTable } from "./slot.ts";

export interface GroupCheck {
  readonly group: string;
  readonly processes: number;
  readonly functions: readonly string[];
}

export async function checkHandlers(options: ResolvedPoolOptions): Promise<GroupCheck[]> {
  const table = new SlotTable(options);
  const firstOfGroup = options.groups.map((g) => table.all.find((s) => s.group === g)!);
  return await Promise.all(
    firstOfGroup.map(async (slot) => {
      const proc = Bun.spawn(childCommand(), {
        env: { ...process.env, [CHILD_SPEC_ENV]: JSON.stringify(childSpec(options, slot)), [CHILD_CHECK_ENV]: "1" },
        stdout: "pipe",
        stderr: "pipe",
        stdin: "ignore",
      });
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      if (code !== 0) {
        const why = err.trim().split("\n").at(-1) || `the check exited with code ${code}`;
        throw new PoolError("LOAD_FAILED", `handlers failed to load: ${why}`);
      }
      const functions = JSON.parse(out.trim().split("\n").at(-1)!) as string[];
      return { group: slot.group.name, processes: slot.group.processes, functions };
    }),
  );
}
