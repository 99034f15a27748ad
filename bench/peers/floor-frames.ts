/**
 * What the two Bun floor peers (floor-worker.ts, floor-submitter.ts) share: the least work that
 * turns received chunks into packets and a request into bytes — nothing a library adds.
 */
export const EMPTY = new Uint8Array(0);

/** A request packet: "\0REQ", the type, the body's size, the body. */
export function requestPacket(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00524551);
  view.setUint32(4, type);
  view.setUint32(8, body.length);
  out.set(body, 12);
  return out;
}

/**
 * A reader for one socket's chunks: calls `packet` with each whole packet's type and body
 * (`buf[from, to)`, valid during the call); a packet cut across chunks waits for the rest.
 */
export function frameReader(
  packet: (type: number, buf: Uint8Array, from: number, to: number) => void,
): (chunk: Uint8Array) => void {
  let pending = EMPTY;
  return (chunk) => {
    let buf = chunk;
    if (pending.length > 0) {
      buf = new Uint8Array(pending.length + chunk.length);
      buf.set(pending);
      buf.set(chunk, pending.length);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    while (buf.length - at >= 12) {
      const size = view.getUint32(at + 8);
      if (buf.length - at - 12 < size) break;
      packet(view.getUint32(at + 4), buf, at + 12, at + 12 + size);
      at += 12 + size;
    }
    pending = at < buf.length ? buf.slice(at) : EMPTY;
  };
}
