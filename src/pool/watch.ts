/**
 * Watches folders (recursively) for changes to source files and calls back once per burst of
 * changes: an editor's save is several events, and one reload should follow it.
 */
import { type FSWatcher, watch } from "node:fs";

/** Quiet time after the last change before the callback runs. */
const SETTLE_MS = 200;
// .py and .php: handlers files of other languages (src/foreign/).
const SOURCE = /\.(?:[cm]?[jt]sx?|json|toml|py|php)$/;
const IGNORED = /(?:^|[/\\])(?:node_modules|\.git)(?:[/\\]|$)/;

export interface Watcher {
  close(): void;
}

export function watchFiles(dirs: readonly string[], onChange: (file: string) => void): Watcher {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let last = "";
  const watchers: FSWatcher[] = dirs.map((dir) =>
    watch(dir, { recursive: true }, (_event, file) => {
      const name = typeof file === "string" ? file : "";
      if (!SOURCE.test(name) || IGNORED.test(name)) return;
      last = name;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        onChange(last);
      }, SETTLE_MS);
    }),
  );
  return {
    close() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      for (const w of watchers) w.close();
    },
  };
}
