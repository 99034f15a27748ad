/**
 * The end-to-end cases: the worker section's (payload size, foreground or drain, servers, worker
 * processes, which peers, jobs per run) and the client section's (background or foreground, how
 * many in flight), full and `--quick`.
 */
import type { Target } from "./support.ts";

const KiB = 1024;
const MiB = 1024 * 1024;

export type Mode = "fg" | "drain";

export interface Case {
  readonly id: string;
  readonly title: string;
  readonly mode: Mode;
  readonly target: Target;
  readonly servers: number;
  readonly procs: number;
  readonly bytes: number;
  readonly window: number;
  /** Jobs per measured run for fast peers (C, gearbun) and for the Node library peers. */
  readonly jobs: number;
  readonly slowJobs: number;
  readonly peers: readonly string[];
  /** gearmand with the MSS shim (bench/peers/mss-shim.c): the large-payload cases. */
  readonly mssShim: boolean;
}

const NPM_NODE = ["abraxas-node", "gearmanode-node", "gearman-node"];
const NPM_ALL = [...NPM_NODE, "abraxas-bun", "gearmanode-bun", "gearman-bun"];
const FAST = ["c", "gearbun-c1", "gearbun-c16"];

export function cases(quick: boolean): Case[] {
  const q = <T>(full: T, short: T): T => (quick ? short : full);
  const base = { target: "gearmand" as Target, servers: 1, procs: 1, bytes: 16, window: 1000, mssShim: false };
  return [
    {
      ...base,
      id: "fg-16b",
      title: "16 B foreground, 1,000 in flight, 1 gearmand, 1 worker process",
      mode: "fg",
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_ALL], [...FAST, ...NPM_NODE]),
    },
    {
      ...base,
      id: "bg-16b",
      title: "16 B background: drain a queue (workers paused while it fills), 1 gearmand, 1 worker process",
      mode: "drain",
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_ALL], FAST),
    },
    {
      ...base,
      id: "fg-16b-2srv",
      title: "16 B foreground, 1,000 in flight, 2 gearmand, 1 worker process on both",
      mode: "fg",
      servers: 2,
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
    {
      ...base,
      id: "fg-16b-4proc",
      title: "16 B foreground, 1,000 in flight, 1 gearmand, 4 worker processes",
      mode: "fg",
      procs: 4,
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
    {
      ...base,
      id: "fg-64k",
      title: "64 KiB foreground, 1,000 in flight, 1 gearmand, 1 worker process",
      mode: "fg",
      bytes: 64 * KiB,
      mssShim: true,
      jobs: q(10_000, 1_000),
      slowJobs: q(2_000, 300),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
    {
      ...base,
      id: "fg-4m",
      title: "4 MiB foreground, 16 in flight, 1 gearmand, 1 worker process",
      mode: "fg",
      bytes: 4 * MiB,
      window: 16,
      mssShim: true,
      jobs: q(1_000, 20),
      slowJobs: q(100, 10),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
    {
      ...base,
      id: "fg-16b-embedded",
      title: "16 B foreground, 1,000 in flight, gearbun's embedded server (own process), 1 worker process",
      mode: "fg",
      target: "embedded",
      jobs: q(100_000, 5_000),
      slowJobs: q(20_000, 2_000),
      peers: q([...FAST, ...NPM_NODE], FAST),
    },
  ];
}

/** The client section: the load generator differs, the worker is the C worker (4 processes). */
export interface ClientCase {
  readonly id: string;
  readonly title: string;
  readonly background: boolean;
  readonly window: number;
  readonly jobs: number;
}

export function clientCases(quick: boolean): ClientCase[] {
  const q = <T>(full: T, short: T): T => (quick ? short : full);
  return [
    {
      id: "client-bg",
      title: "background submits, 1,000 in flight",
      background: true,
      window: 1000,
      jobs: q(100_000, 5_000),
    },
    {
      id: "client-fg-1000",
      title: "foreground round trips, 1,000 in flight",
      background: false,
      window: 1000,
      jobs: q(100_000, 5_000),
    },
    {
      id: "client-fg-1",
      title: "foreground round trips, 1 in flight",
      background: false,
      window: 1,
      jobs: q(10_000, 1_000),
    },
  ];
}

export const CLIENT_WORKER_PROCS = 4;
