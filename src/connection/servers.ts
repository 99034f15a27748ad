/**
 * Server address lists: "host:port", "host" (port 4730), "[::1]:port", comma-separated strings
 * and arrays; GEARMAN_SERVERS as the default. A "tls://" prefix marks a server spoken to over TLS.
 */
import { isIPv6 } from "node:net";
import { ConfigError } from "../errors.ts";
import { DEFAULT_PORT } from "../protocol/packets.ts";

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  /** "host:port" ("[v6]:port" for IPv6), used in messages and as a map key. */
  readonly key: string;
  /** Spoken to over TLS: written "tls://host:port", or every server under the `tls` option. */
  readonly tls?: boolean;
}

const TLS_SCHEME = "tls://";

export type ServersInput = string | readonly string[];

/**
 * The address as a server list entry: "tls://host:port" for a TLS server, else its key. A list
 * built from these parses back to the same servers, so TLS is never lost on the way.
 */
export function formatAddress(address: ServerAddress): string {
  return address.tls === true ? `${TLS_SCHEME}${address.key}` : address.key;
}

export const DEFAULT_SERVER = `127.0.0.1:${DEFAULT_PORT}`;

/** Parses one address; `option` names the setting it came from, for the error. */
export function parseAddress(text: string, option = "servers"): ServerAddress {
  let s = text.trim();
  const tls = s.toLowerCase().startsWith(TLS_SCHEME);
  if (tls) s = s.slice(TLS_SCHEME.length);
  if (s === "") throw new ConfigError(option, "empty server address");
  let host: string;
  let portText: string | undefined;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) throw new ConfigError(option, `bad server address "${text}": missing "]"`);
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) {
      throw new ConfigError(option, `bad server address "${text}": expected ":port" after "]"`);
    }
    portText = rest === "" ? undefined : rest.slice(1);
  } else {
    const colon = s.lastIndexOf(":");
    if (colon >= 0 && s.indexOf(":") !== colon) {
      // A bare IPv6 address without brackets: no port can be told apart.
      if (!isIPv6(s)) {
        throw new ConfigError(option, `bad server address "${text}": write IPv6 as "[addr]:port"`);
      }
      host = s;
    } else if (colon >= 0) {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    } else {
      host = s;
    }
  }
  if (host === "" || /\s/.test(host)) throw new ConfigError(option, `bad server address "${text}": bad host`);
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new ConfigError(option, `bad server address "${text}": port must be 1-65535`);
    }
    port = Number(portText);
  }
  const key = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return tls ? { host, port, key, tls } : { host, port, key };
}

/**
 * Resolves a server list. Without input, GEARMAN_SERVERS is used, else 127.0.0.1:4730.
 * Duplicates are dropped (keeping the first), so one server never gets two connections.
 */
export function parseServers(
  input: ServersInput | undefined,
  env: string | undefined = process.env.GEARMAN_SERVERS,
  option = "servers",
): ServerAddress[] {
  let source: ServersInput;
  let from = option;
  if (input !== undefined && (typeof input === "string" ? input.trim() !== "" : input.length > 0)) {
    source = input;
  } else if (env !== undefined && env.trim() !== "") {
    source = env;
    from = "GEARMAN_SERVERS";
  } else {
    source = DEFAULT_SERVER;
  }
  const parts = (typeof source === "string" ? [source] : source).flatMap((s) => s.split(","));
  const out: ServerAddress[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    if (part.trim() === "") continue;
    const address = parseAddress(part, from);
    if (seen.has(address.key)) continue;
    seen.add(address.key);
    out.push(address);
  }
  if (out.length === 0) throw new ConfigError(from, "no server address given");
  return out;
}
