/**
 * The wire types for the browser: the generated static protobuf code (src/gen, from
 * proto/tether.proto), bundled by esbuild. 64-bit fields (millisecond times) are decoded as plain
 * numbers: they stay far below 2^53, and the browser bundle carries no `long` package.
 */
import protobuf from "protobufjs/minimal.js";
import { tether } from "../gen/tether.js";

protobuf.util.Long = null as unknown as typeof protobuf.util.Long;
protobuf.configure();

export const pb = tether.v1;
export type SessionInfo = tether.v1.SessionInfo;
export type AccessRequestInfo = tether.v1.AccessRequestInfo;
export type BrokerToConsole = tether.v1.BrokerToConsole;
export type ControlMessage = tether.v1.ControlMessage;
export type InputEventProps = tether.v1.InputEvent.$Properties;
export type IceServerProps = tether.v1.IceServer.$Properties;
export type MonitorProps = tether.v1.Monitor.$Properties;
export type CursorProps = tether.v1.ControlMessage.Cursor.$Properties;

/** Encoded bytes as the DOM's send() methods want them (an ArrayBuffer-backed view; no copy when it is one). */
export function sendable(u: Uint8Array): Uint8Array<ArrayBuffer> {
  return u.buffer instanceof ArrayBuffer ? (u as Uint8Array<ArrayBuffer>) : new Uint8Array(u);
}
