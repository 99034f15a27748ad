/**
 * A Bun service with routes of its own that call Gearman through a Client, and the gateway
 * mounted under /jobs for everything else (any function, event streams, background jobs).
 *
 *   bun run examples/worker.ts &              # the "reverse" and "count" functions
 *   bun run examples/gateway-service.ts       # PORT (default 3000), GEARMAN_SERVERS
 *
 *   curl 'http://127.0.0.1:3000/reverse?text=hello'                   # the service's own route
 *   curl -d hello http://127.0.0.1:3000/jobs/reverse                  # through the gateway
 *   curl -N -H 'Accept: text/event-stream' -d 3 http://127.0.0.1:3000/jobs/count
 */
import { Client, createGateway } from "../src/index.ts";

const client = new Client(); // servers from GEARMAN_SERVERS, else 127.0.0.1:4730
// The gateway shares the service's Client: one set of connections, closed by the service.
const gateway = createGateway({ client, maxInFlight: 64, requestTimeout: 30_000 });

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 3000),
  async fetch(request, srv) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/jobs/")) return gateway.fetch(request, srv);
    if (url.pathname === "/reverse") {
      const text = url.searchParams.get("text") ?? "";
      try {
        const reversed = await client.submit("reverse", text, { timeout: 5000 }).text();
        return Response.json({ text, reversed });
      } catch (error) {
        // The library's errors carry a stable code (NO_SERVERS, TIMEOUT, JOB_FAILED...).
        return Response.json({ error: (error as { code?: string }).code ?? "INTERNAL" }, { status: 502 });
      }
    }
    return new Response("not found\n", { status: 404 });
  },
});
console.log(`service on ${server.url}`);

process.on("SIGTERM", async () => {
  await server.stop();
  await client.close();
  process.exit(0);
});
