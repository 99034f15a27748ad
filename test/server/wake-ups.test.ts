/**
 * Wake-ups: the same raw packet sequences against real gearmand and the embedded server, with
 * the same expected transcript. gearmand keeps two flags per worker connection (sleeping,
 * noop_sent): PRE_SLEEP with a job waiting → NOOP at once, else sleeping; only a GRAB clears
 * both; a queued job NOOPs connections that are sleeping && !noop_sent. The embedded server
 * must do exactly that (workers that stall against gearmand must stall against it too).
 *
 * Each step is "PEER ACTION [FUNCTION]"; after it, every worker connection is synced with an
 * ECHO round trip and what it received is listed as "PEER:PACKET".
 */
import { afterAll, describe, expect, test } from "bun:test";
import { PacketType } from "../../src/protocol/packets.ts";
import { startServer } from "../../src/server/server.ts";
import { RawPeer } from "../support/raw-peer.ts";
import { TARGETS, startTarget, type TargetSettings } from "../support/targets.ts";

type Step = readonly [action: string, expected: string];

interface Scenario {
  readonly name: string;
  readonly settings?: TargetSettings;
  readonly steps: readonly Step[];
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: "PRE_SLEEP with nothing queued sleeps; a queued job wakes it once until it grabs",
    steps: [
      ["w1 CAN_DO f", ""],
      ["w1 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP"],
      ["c SUBMIT f", ""],
      ["w1 GRAB_JOB", "w1:JOB_ASSIGN"],
      ["w1 GRAB_JOB", "w1:JOB_ASSIGN"],
      ["w1 GRAB_JOB", "w1:NO_JOB"],
      ["w1 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP"],
    ],
  },
  {
    name: "PRE_SLEEP with a job waiting answers NOOP at once, every time",
    steps: [
      ["w1 CAN_DO f", ""],
      ["c SUBMIT f", ""],
      ["w1 PRE_SLEEP", "w1:NOOP"],
      ["w1 PRE_SLEEP", "w1:NOOP"],
      ["w1 GRAB_JOB", "w1:JOB_ASSIGN"],
      ["w1 GRAB_JOB", "w1:NO_JOB"],
      ["w1 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP"],
    ],
  },
  {
    name: "a NOOP answered with PRE_SLEEP instead of a GRAB is never repeated: the connection stalls",
    steps: [
      ["w1 CAN_DO f", ""],
      ["w2 CAN_DO f", ""],
      ["w1 PRE_SLEEP", ""],
      ["w2 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP w2:NOOP"],
      ["w2 GRAB_JOB", "w2:JOB_ASSIGN"],
      // w1 was busy elsewhere (python-gearman): PRE_SLEEP, nothing waiting, noop_sent kept
      ["w1 PRE_SLEEP", ""],
      ["c SUBMIT f", ""],
      ["c SUBMIT f", ""],
      ["w1 GRAB_JOB", "w1:JOB_ASSIGN"],
    ],
  },
  {
    name: "GRAB_JOB_UNIQ and GRAB_JOB_ALL clear the flags too",
    steps: [
      ["w1 CAN_DO f", ""],
      ["w1 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP"],
      ["w1 GRAB_JOB_ALL", "w1:JOB_ASSIGN_UNIQ"],
      ["w1 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP"],
      ["w1 GRAB_JOB_UNIQ", "w1:JOB_ASSIGN_UNIQ"],
      ["w1 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP"],
    ],
  },
  {
    name: "PRE_SLEEP before CAN_DO: woken for a function registered later",
    steps: [
      ["w1 PRE_SLEEP", ""],
      ["w1 CAN_DO f", ""],
      ["c SUBMIT f", "w1:NOOP"],
    ],
  },
  {
    name: "only connections that can do the function are woken; CANT_DO and RESET_ABILITIES stop wake-ups",
    steps: [
      ["w1 CAN_DO f", ""],
      ["w1 CAN_DO g", ""],
      ["w2 CAN_DO g", ""],
      ["w1 CANT_DO f", ""],
      ["w1 PRE_SLEEP", ""],
      ["w2 PRE_SLEEP", ""],
      ["c SUBMIT f", ""],
      ["w1 RESET_ABILITIES", ""],
      ["c SUBMIT g", "w2:NOOP"],
      ["w1 CAN_DO g", ""],
      ["c SUBMIT g", "w1:NOOP"],
    ],
  },
  {
    name: "a job re-queued when its worker disconnects wakes sleeping workers",
    steps: [
      ["w1 CAN_DO f", ""],
      ["w2 CAN_DO f", ""],
      ["c SUBMIT f", ""],
      ["w1 GRAB_JOB", "w1:JOB_ASSIGN"],
      ["w2 GRAB_JOB", "w2:NO_JOB"],
      ["w2 PRE_SLEEP", ""],
      ["w1 CLOSE", "w2:NOOP"],
      ["w2 GRAB_JOB", "w2:JOB_ASSIGN"],
    ],
  },
  {
    name: "--worker-wakeup 1: one NOOP per queued job, round robin over sleeping connections",
    settings: { workerWakeup: 1 },
    steps: [
      ["w1 CAN_DO f", ""],
      ["w2 CAN_DO f", ""],
      ["w3 CAN_DO f", ""],
      ["w1 PRE_SLEEP", ""],
      ["w2 PRE_SLEEP", ""],
      ["w3 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP"],
      ["c SUBMIT f", "w2:NOOP"],
      ["c SUBMIT f", "w3:NOOP"],
      ["c SUBMIT f", ""],
      ["w2 GRAB_JOB", "w2:JOB_ASSIGN"],
      ["w2 PRE_SLEEP", "w2:NOOP"],
      ["w1 GRAB_JOB", "w1:JOB_ASSIGN"],
      ["w1 GRAB_JOB", "w1:JOB_ASSIGN"],
      ["w1 GRAB_JOB", "w1:JOB_ASSIGN"],
      ["w1 GRAB_JOB", "w1:NO_JOB"],
      ["w1 PRE_SLEEP", ""],
      ["w2 GRAB_JOB", "w2:NO_JOB"],
      ["w2 PRE_SLEEP", ""],
      ["c SUBMIT f", "w1:NOOP"],
      ["c SUBMIT f", "w2:NOOP"],
    ],
  },
];

const GRABS: Record<string, number> = {
  GRAB_JOB: PacketType.GRAB_JOB,
  GRAB_JOB_UNIQ: PacketType.GRAB_JOB_UNIQ,
  GRAB_JOB_ALL: PacketType.GRAB_JOB_ALL,
};

async function runScenario(port: number, scenario: Scenario): Promise<string[]> {
  const peers = new Map<string, RawPeer>();
  const transcript: string[] = [];
  try {
    for (const [step] of scenario.steps) {
      const [name, action, fn] = step.split(" ") as [string, string, string | undefined];
      let peer = peers.get(name);
      if (peer === undefined) peers.set(name, (peer = await RawPeer.connect(port)));
      switch (action) {
        case "CAN_DO":
          peer.send(PacketType.CAN_DO, fn!);
          break;
        case "CANT_DO":
          peer.send(PacketType.CANT_DO, fn!);
          break;
        case "RESET_ABILITIES":
          peer.send(PacketType.RESET_ABILITIES);
          break;
        case "PRE_SLEEP":
          peer.send(PacketType.PRE_SLEEP);
          break;
        case "SUBMIT":
          peer.send(PacketType.SUBMIT_JOB_BG, fn!, "", "data");
          await peer.sync(); // its JOB_CREATED: the job is queued
          break;
        case "CLOSE":
          peer.terminate();
          peers.delete(name);
          await Bun.sleep(100); // the server notices the disconnect
          break;
        default:
          peer.send(GRABS[action]!);
      }
      const got: string[] = [];
      for (const [n, p] of peers) {
        if (!n.startsWith("w")) continue;
        for (const item of await p.sync()) got.push(`${n}:${item}`);
      }
      transcript.push(got.join(" "));
    }
  } finally {
    for (const p of peers.values()) p.terminate();
  }
  return transcript;
}

for (const target of TARGETS) {
  describe(`wake-ups - ${target}`, () => {
    for (const scenario of SCENARIOS) {
      test(`wake-ups - ${target}: ${scenario.name}`, async () => {
        await using server = await startTarget(target, scenario.settings);
        const transcript = await runScenario(server.port, scenario);
        // Compare step by step so a failure names the step.
        const expected = scenario.steps.map(([step, want]) => `${step} → ${want}`);
        const actual = scenario.steps.map(([step], i) => `${step} → ${transcript[i]}`);
        expect(actual).toEqual(expected);
      });
    }
  });
}

describe("wake-ups - embedded fault switch", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup) await c();
  });

  test("wake-ups - withholdNoop: flags change as if the NOOP was sent, nothing arrives", async () => {
    const server = await startServer({ port: 0, faults: { withholdNoop: true } });
    cleanup.push(() => server.stop());
    const scenario: Scenario = {
      name: "withheld",
      steps: [
        ["w1 CAN_DO f", ""],
        ["w1 PRE_SLEEP", ""],
        ["c SUBMIT f", ""],
      ],
    };
    expect(await runScenario(server.port, scenario)).toEqual(["", "", ""]);
    server.faults.withholdNoop = false;
    // The lost wake-up counted: noop_sent is set, so a second job does not wake it either.
    const w = await RawPeer.connect(server.port);
    w.send(PacketType.CAN_DO, "g");
    w.send(PacketType.PRE_SLEEP);
    const c = await RawPeer.connect(server.port);
    c.send(PacketType.SUBMIT_JOB_BG, "g", "", "x");
    await c.sync();
    expect(await w.sync()).toEqual(["NOOP"]);
    w.terminate();
    c.terminate();
  });
});
