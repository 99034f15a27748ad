// Echo worker on the npm library `abraxas`: one client on all servers, `maxJobs` = --concurrency.
import Gearman from "abraxas";
import { counter, peerArgs, reportOnExit } from "./common.mjs";

const { servers, fn, concurrency } = peerArgs();
reportOnExit("abraxas-worker");

const client = Gearman.Client.connect({
  servers: servers.map(({ host, port }) => `${host}:${port}`),
  maxJobs: concurrency,
});
client.on("error", (error) => {
  process.stderr.write(`abraxas-worker: ${error?.message ?? error}\n`);
  process.exit(1);
});
client.registerWorker(fn, (task) => {
  counter.jobs++;
  return task.payload;
});
