/**
 * Codec benchmarks (mitata): one group per payload size; in each, encoding (a new buffer per
 * packet, or into a reused buffer) and decoding with one packet per chunk and 64 per chunk.
 * A WORK_COMPLETE (handle + payload) is the packet: the shape that carries results.
 *
 *   bun run bench/codec.bench.ts          # runs alone, prints mitata's table and the figures
 *   import { runCodecBench } from "./codec.bench.ts"  // from bench/index.ts
 */
import { bench, do_not_optimize, group, run } from "mitata";
import { PacketDecoder } from "../src/protocol/decode.ts";
import { encodedLength, encodeInto, encodePacket } from "../src/protocol/encode.ts";
import { PacketType, RES_MAGIC } from "../src/protocol/packets.ts";

export interface CodecFigure {
  name: string;
  /** Mean time per benchmark iteration, ns. */
  nsPerIteration: number;
  packetsPerSecond: number;
  /** Wire bytes (headers included) per second, in MB (10^6 bytes). */
  megabytesPerSecond: number;
}

const SIZES: readonly [label: string, bytes: number][] = [
  ["0 B", 0],
  ["64 B", 64],
  ["4 KiB", 4096],
  ["1 MiB", 1024 * 1024],
];
const PER_CHUNK = 64;
const HANDLE = "H:bench.example:1234567";

function concatCopies(packet: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(packet.length * n);
  for (let i = 0; i < n; i++) out.set(packet, i * packet.length);
  return out;
}

/** Registers the benchmarks; returns the work per iteration of each, by name, for the figures. */
export function registerCodecBenchmarks(): Map<string, { packets: number; bytes: number }> {
  const work = new Map<string, { packets: number; bytes: number }>();
  const decoder = new PacketDecoder(
    {
      packet: (p) => {
        do_not_optimize(p.args);
      },
      error: (e) => {
        throw e;
      },
    },
    { magic: RES_MAGIC },
  );

  for (const [label, size] of SIZES) {
    const payload = new Uint8Array(size).fill(0x5a);
    const args = [HANDLE, payload] as const;
    const packet = encodePacket(PacketType.WORK_COMPLETE, args, RES_MAGIC);
    const many = concatCopies(packet, PER_CHUNK);
    const out = new Uint8Array(encodedLength(args));
    // A spanning packet: the same bytes in 64 KiB reads (the assembly path), for 1 MiB only.
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < packet.length; i += 65_536) pieces.push(packet.slice(i, i + 65_536));

    group(`payload ${label}`, () => {
      const add = (name: string, packets: number, fn: () => void): void => {
        work.set(name, { packets, bytes: packets * packet.length });
        bench(name, fn);
      };
      add(`encodePacket ${label}`, 1, () => {
        do_not_optimize(encodePacket(PacketType.WORK_COMPLETE, args, RES_MAGIC));
      });
      add(`encodeInto ${label}`, 1, () => {
        do_not_optimize(encodeInto(out, 0, PacketType.WORK_COMPLETE, args, RES_MAGIC));
      });
      add(`decode 1/chunk ${label}`, 1, () => {
        decoder.push(packet);
      });
      add(`decode ${PER_CHUNK}/chunk ${label}`, PER_CHUNK, () => {
        decoder.push(many);
      });
      if (pieces.length > 1) {
        add(`decode in 64 KiB reads ${label}`, 1, () => {
          for (const p of pieces) decoder.push(p);
        });
      }
    });
  }
  return work;
}

/** Runs the codec benchmarks and returns packets/s and MB/s per benchmark. */
export async function runCodecBench(options: { print?: boolean } = {}): Promise<CodecFigure[]> {
  const print = options.print ?? true;
  const work = registerCodecBenchmarks();
  const { benchmarks } = await run({ format: print ? "mitata" : "quiet", colors: false });
  const figures: CodecFigure[] = [];
  for (const trial of benchmarks) {
    for (const r of trial.runs) {
      const w = work.get(r.name);
      if (!w || !r.stats) continue;
      const ns = r.stats.avg;
      figures.push({
        name: r.name,
        nsPerIteration: ns,
        packetsPerSecond: (w.packets * 1e9) / ns,
        megabytesPerSecond: (w.bytes * 1e3) / ns,
      });
    }
  }
  if (print) {
    console.log("\nbenchmark                         packets/s        MB/s");
    for (const f of figures) {
      console.log(
        `${f.name.padEnd(32)} ${Math.round(f.packetsPerSecond).toLocaleString("en").padStart(12)} ${f.megabytesPerSecond.toFixed(1).padStart(11)}`,
      );
    }
  }
  return figures;
}

if (import.meta.main) await runCodecBench();
