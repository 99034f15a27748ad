/** gearbun's version, read from package.json (bundled into a compiled binary at build time). */
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
