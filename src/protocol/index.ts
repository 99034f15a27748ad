// `gearbun/protocol`: the codec, the packet table and one connection, for tools that speak
// Gearman themselves. Re-exports only (test/exports.test.ts lists every name).
export {
  PacketType,
  PACKETS,
  REQ_MAGIC,
  RES_MAGIC,
  HEADER_SIZE,
  DEFAULT_PORT,
  packetName,
} from "./packets.ts";
export type { Packet, PacketSpec, PacketName } from "./packets.ts";
export {
  encodePacket,
  encodeInto,
  encodedLength,
  encodeRequest,
  encodeResponse,
  CONSTANT_PACKETS,
} from "./encode.ts";
export type { Arg } from "./encode.ts";
export { PacketDecoder, DEFAULT_MAX_PACKET_SIZE } from "./decode.ts";
export type { DecoderHandlers, DecoderOptions } from "./decode.ts";
export { Connection } from "../connection/connection.ts";
export type {
  ConnectionState,
  ConnectionEvent,
  ConnectionHandlers,
  ConnectionConfig,
} from "../connection/connection.ts";
export { exponentialBackoff, noReconnect } from "../connection/reconnect.ts";
export { parseServers, parseAddress, formatAddress, DEFAULT_SERVER } from "../connection/servers.ts";
export type { ServerAddress } from "../connection/servers.ts";
