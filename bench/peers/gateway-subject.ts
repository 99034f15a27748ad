/**
 * The process measured by the gateway rows (bench/gateway.ts), one mode per row:
 *
 *   bun bench/peers/gateway-subject.ts --mode floor                      # Bun.serve answering the body: the HTTP floor
 *   bun bench/peers/gateway-subject.ts --mode gateway --servers H:P      # serveGateway in front of a Client
 *   bun bench/peers/gateway-subject.ts --mode direct --servers H:P       # Client.submit in this process, no HTTP
 *
 * Each listens on 127.0.0.1:0 and prints {"port":N}. floor and gateway are driven by
 * bench/peers/http-loadgen.ts. direct runs its own load on `GET /run?c=C&n=N&warm=W` (one control
 * request per run) and answers {"seconds","p50Ms","p99Ms","errors"}: `c` lanes, each submitting
 * its next 16-byte echo job when the previous one's result is in.
 */
import { parseArgs } from "node:util";
import { Client } from "../../src/client/client.ts";
import { serveGateway } from "../../src/gateway/serve.ts";
import { percentiles } from "./http-loadgen.ts";

const { values } = parseArgs({
  options: { mode: { type: "string" }, servers: { type: "string", default: "127.0.0.1:4730" } },
});
const PAYLOAD = new Uint8Array(16).fill(97);

async function lanes(client: Client, c: number, n: number, latencies: number[] | null): Promise<number> {
  let next = 0;
  let errors = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      const t0 = performance.now();
      try {
        await client.submit("echo", PAYLOAD);
      } catch {
        errors++;
      }
      latencies?.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: c }, lane));
  return errors;
}

let port: number;
let stop: () => Promise<void>;
if (values.mode === "floor") {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      return new Response(await request.arrayBuffer(), { headers: { "content-type": "application/octet-stream" } });
    },
  });
  port = server.port!;
  stop = async () => void (await server.stop(true));
} else if (values.mode === "gateway") {
  const served = serveGateway({ listen: "127.0.0.1:0", client: { servers: values.servers }, maxInFlight: 0 });
  await served.gateway.client.connect();
  port = served.port;
  stop = () => served.stop();
} else if (values.mode === "direct") {
  const client = new Client({ servers: values.servers });
  await client.connect();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const q = new URL(request.url).searchParams;
      const c = Number(q.get("c"));
      const n = Number(q.get("n"));
      await lanes(client, c, Number(q.get("warm")), null);
      const latencies: number[] = [];
      const t0 = performance.now();
      const errors = await lanes(client, c, n, latencies);
      const seconds = (performance.now() - t0) / 1000;
      return Response.json({ seconds, ...percentiles(latencies), errors });
    },
  });
  port = server.port!;
  stop = async () => {
    await server.stop(true);
    await client.close();
  };
} else {
  throw new Error(`--mode must be floor, gateway or direct, got ${values.mode}`);
}
process.stdout.write(`${JSON.stringify({ port })}\n`);
const finish = (): void => void stop().finally(() => process.exit(0));
process.on("SIGTERM", finish);
process.on("SIGINT", finish);
