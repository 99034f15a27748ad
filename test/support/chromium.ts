/**
 * A real headless Chromium driven over the DevTools protocol (a WebSocket from Bun): open a
 * page, evaluate expressions in it, take screenshots. Started on a free debugging port with a
 * temp profile, stopped by PID.
 *
 *   await using browser = await startChromium();
 *   await browser.navigate("http://127.0.0.1:8080/");
 *   const rows = await browser.evaluate<number>("document.querySelectorAll('tr').length");
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./eventually.ts";
import { chromiumPath } from "./operator-tools.ts";

export interface Chromium extends AsyncDisposable {
  /** Opens `url` and resolves once the document has loaded. */
  navigate(url: string): Promise<void>;
  /** Evaluates `expression` in the page; its value comes back as JSON. */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the viewport. */
  screenshot(): Promise<Uint8Array>;
}

export async function startChromium(width = 1280, height = 900): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), "gearbun-chromium-"));
  const proc = Bun.spawn(
    [
      chromiumPath!,
      "--headless",
      "--no-sandbox", // tests may run as root
      "--disable-gpu",
      "--no-first-run",
      "--no-default-browser-check",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      `--window-size=${width},${height}`,
      "about:blank",
    ],
    { stdout: "ignore", stderr: "ignore", stdin: "ignore" },
  );
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await proc.exited;
      clearTimeout(timer);
    }
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    // Chromium writes its debugging port to DevToolsActivePort in the profile.
    const port = await eventually(
      () => Number(readFileSync(join(profile, "DevToolsActivePort"), "utf8").split("\n")[0]) || undefined,
      "chromium DevToolsActivePort",
      20_000,
      50,
    );
    const pages = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = pages.find((p) => p.type === "page")!;
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("cannot open the DevTools WebSocket"));
    });
    let nextId = 1;
    const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    ws.onmessage = (event) => {
      const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const w = msg.id === undefined ? undefined : waiting.get(msg.id);
      if (w === undefined) return;
      waiting.delete(msg.id!);
      if (msg.error) w.reject(new Error(`DevTools: ${msg.error.message}`));
      else w.resolve(msg.result);
    };
    const send = <T>(method: string, params: Record<string, unknown> = {}): Promise<T> => {
      const id = nextId++;
      const { promise, resolve, reject } = Promise.withResolvers<T>();
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify({ id, method, params }));
      return promise;
    };
    await send("Page.enable");
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = await send<{
        result: { value?: T };
        exceptionDetails?: { text: string; exception?: { description?: string } };
      }>("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
      if (r.exceptionDetails) {
        const d = r.exceptionDetails;
        throw new Error(`in the page: ${d.exception?.description?.split("\n")[0] ?? d.text}`);
      }
      return r.result.value as T;
    };
    return {
      async navigate(url) {
        await send("Page.navigate", { url });
        const loaded = `location.href === ${JSON.stringify(url)} && document.readyState === "complete"`;
        await eventually(() => evaluate<boolean>(loaded), `${url} loaded`, 15_000, 50);
      },
      evaluate,
      async screenshot() {
        const r = await send<{ data: string }>("Page.captureScreenshot", { format: "png" });
        return Buffer.from(r.data, "base64");
      },
      async [Symbol.asyncDispose]() {
        ws.close();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
