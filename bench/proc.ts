/**
 * Per-process CPU time and peak memory from /proc, for the benchmark's measurements: thread CPU at
 * nanosecond resolution (schedstat), user/kernel split from clock ticks (stat), children, VmHWM.
 */
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time of every live thread of `pid`, in nanoseconds, from /proc/PID/task/TID/schedstat
 * (nanosecond resolution, unlike the 10 ms ticks of /proc/PID/stat).
 */
export function cpuSnapshot(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ");
      threads.set(Number(tid), Number(fields[0]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/**
 * CPU time of the threads of `pid` named `name` (/proc/PID/task/TID/comm), in nanoseconds: e.g.
 * JavaScriptCore's compiler threads, "JITWorker", to tell compiling from running.
 */
export function threadCpuSnapshot(pid: number, name: string): Map<number, number> {
  const all = cpuSnapshot(pid);
  for (const tid of all.keys()) {
    let comm = "";
    try {
      comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    } catch {
      // the thread ended between the listing and the read
    }
    if (comm !== name) all.delete(tid);
  }
  return all;
}

/** CPU ns spent between two snapshots (threads that started in between count from zero). */
export function cpuDeltaNs(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [tid, ns] of after) sum += ns - (before.get(tid) ?? 0);
  return Math.max(0, sum);
}

/** Utime+stime of the whole process (also ended threads) in ns, from /proc/PID/stat (10 ms ticks). */
export function cpuTicksNs(pid: number): number {
  const t = cpuUserSysNs(pid);
  return t.userNs + t.sysNs;
}

/**
 * User and kernel CPU time of the whole process (every thread, also ended ones) in ns, from
 * utime and stime of /proc/PID/stat: clock ticks (10 ms), so only long spans are meaningful. The
 * kernel splits the process's exact run time between the two in the proportion it sampled.
 */
export function cpuUserSysNs(pid: number): { userNs: number; sysNs: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return { userNs: (Number(fields[11]) * 1e9) / CLOCK_TICKS, sysNs: (Number(fields[12]) * 1e9) / CLOCK_TICKS };
  } catch {
    return { userNs: 0, sysNs: 0 };
  }
}

/** Several processes' user and kernel CPU, ns, between two calls (clock ticks: sum long spans). */
export function userSysMeter(pids: readonly number[]): () => { userNs: number; sysNs: number } {
  const before = pids.map((p) => cpuUserSysNs(p));
  return () => {
    let userNs = 0;
    let sysNs = 0;
    pids.forEach((p, i) => {
      const now = cpuUserSysNs(p);
      userNs += now.userNs - before[i]!.userNs;
      sysNs += now.sysNs - before[i]!.sysNs;
    });
    return { userNs, sysNs };
  };
}

const CLOCK_TICKS = ((): number => {
  const r = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe", stderr: "ignore" });
  const n = Number(r.stdout.toString().trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** PIDs of the live children of `pid` (every thread's /proc/PID/task/TID/children), or none. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      for (const word of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ")) {
        if (word.trim() !== "") out.push(Number(word));
      }
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out.sort((a, b) => a - b);
}

/** Peak resident set size (VmHWM) of `pid` in KiB, or 0 if it cannot be read. */
export function peakRssKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
