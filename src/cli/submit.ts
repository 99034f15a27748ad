/** `gearbun submit FUNC [DATA]`: one job, its result (or handle) on stdout. */
import { Client } from "../client/client.ts";
import { CLIENT_DEFAULTS, SUBMIT_DEFAULTS } from "../options.ts";
import { type Command, flagLine, intFlag, readStdin, SERVERS_FLAG, str, UsageError } from "./args.ts";
import { CLIENT_SSL_OPTIONS, CLIENT_SSL_USAGE, clientTlsFlags } from "./client-tls.ts";

export const submit: Command = {
  takesArguments: true,
  usage: `Usage: gearbun submit FUNC [DATA] [--background] [--priority high|low] [--unique U] [--timeout MS] [--servers LIST]

Submits one job and prints its result (reads DATA from stdin when it is absent).
${flagLine("--background", "do not wait: print the job handle")}
${flagLine("--priority P", "high, normal or low", SUBMIT_DEFAULTS.priority)}
${flagLine("--unique U", "unique key (jobs with the same key are coalesced)")}
${flagLine("--timeout MS", "give up after MS milliseconds (0: never)", CLIENT_DEFAULTS.timeout)}
${SERVERS_FLAG}
${CLIENT_SSL_USAGE}`,
  options: {
    background: { type: "boolean" },
    priority: { type: "string" },
    unique: { type: "string" },
    timeout: { type: "string" },
    servers: { type: "string" },
    ...CLIENT_SSL_OPTIONS,
  },
  async run(values, positionals) {
    const fn = positionals[0];
    if (!fn) throw new UsageError("submit needs a function name");
    const priority = str(values.priority) ?? SUBMIT_DEFAULTS.priority;
    if (priority !== "high" && priority !== "normal" && priority !== "low") {
      throw new UsageError(`--priority must be high, normal or low, got "${priority}"`);
    }
    const timeout = intFlag(values, "timeout", CLIENT_DEFAULTS.timeout, 0);
    const tls = clientTlsFlags(values);
    const data = positionals[1] ?? (await readStdin());
    const client = new Client({ servers: str(values.servers), tls });
    try {
      const options = { priority, unique: str(values.unique), timeout } as const;
      if (values.background) {
        console.log(await client.submitBackground(fn, data, options));
      } else {
        const result = await client.submit(fn, data, options);
        await Bun.write(Bun.stdout, result);
        if (process.stdout.isTTY) process.stdout.write("\n");
      }
    } finally {
      await client.close();
    }
    return 0;
  },
};
