import { describe, expect, test } from "bun:test";
import { allowedCpus, assertPinned, parseCpuList, resolvePinning } from "../../bench/pin.ts";
import { parseThroughputArgs } from "../../bench/options.ts";

const twoCpus = { taskset: "/usr/bin/taskset", cpus: [0, 1] };

describe("bench pin", () => {
  test("bench pin - split puts the workers on the second CPU, servers and load generator on the first", () => {
    const pin = resolvePinning("split", twoCpus);
    expect([pin.cpu("worker"), pin.cpu("server"), pin.cpu("loadgen")]).toEqual([1, 0, 0]);
    expect(pin.prefix("worker")).toEqual(["/usr/bin/taskset", "-c", "1"]);
    expect(pin.describe()).toContain("worker processes on CPU 1");
  });

  test("bench pin - same puts every process on the first CPU; off pins nothing", () => {
    const same = resolvePinning("same", { taskset: "/usr/bin/taskset", cpus: [2, 3] });
    expect([same.cpu("worker"), same.cpu("server"), same.cpu("loadgen")]).toEqual([2, 2, 2]);
    const off = resolvePinning("off", twoCpus);
    expect([off.cpu("worker"), off.prefix("server")]).toEqual([null, []]);
    expect(off.fallback).toBeNull();
  });

  test("bench pin - without taskset or a second CPU it falls back to off and says why", () => {
    const noTaskset = resolvePinning("split", { taskset: null, cpus: [0, 1] });
    expect([noTaskset.mode, noTaskset.cpu("worker")]).toEqual(["off", null]);
    expect(noTaskset.fallback).toContain("taskset");
    const oneCpu = resolvePinning("same", { taskset: "/usr/bin/taskset", cpus: [0] });
    expect(oneCpu.mode).toBe("off");
    expect(oneCpu.describe()).toContain("same asked; fewer than 2 CPUs");
  });

  test("bench pin - CPU lists parse ranges and single CPUs", () => {
    expect(parseCpuList("0-2,5,7-8")).toEqual([0, 1, 2, 5, 7, 8]);
    expect(parseCpuList("3")).toEqual([3]);
    expect(allowedCpus()?.length).toBeGreaterThan(0);
  });

  test("bench pin - --pin defaults to split and is checked", () => {
    expect(parseThroughputArgs([]).pin).toBe("split");
    expect(parseThroughputArgs(["--pin", "same"]).pin).toBe("same");
    expect(() => parseThroughputArgs(["--pin", "both"])).toThrow("--pin");
  });

  test("bench pin - a process spawned through taskset is pinned, and assertPinned tells a wrong CPU", async () => {
    const pin = resolvePinning("split");
    if (pin.mode === "off") {
      expect(pin.fallback).not.toBeNull();
      return;
    }
    const cpu = pin.cpu("worker")!;
    const proc = Bun.spawn([...pin.prefix("worker"), "sleep", "10"], { stdout: "ignore", stderr: "ignore" });
    try {
      // taskset pins itself, then execs sleep under the same PID.
      const deadline = Date.now() + 5000;
      while (allowedCpus(proc.pid)?.join(",") !== String(cpu) && Date.now() < deadline) await Bun.sleep(10);
      expect(() => assertPinned([proc.pid], cpu, "sleep")).not.toThrow();
      expect(() => assertPinned([proc.pid], pin.cpu("server"), "sleep")).toThrow(`not only CPU ${pin.cpu("server")}`);
      pin.pinRunning(proc.pid, "server");
      expect(() => assertPinned([proc.pid], pin.cpu("server"), "sleep")).not.toThrow();
    } finally {
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });
});
