/**
 * The wire protocol's TypeScript face: the generated protobuf types (src/gen, from proto/tether.proto),
 * size limits, WebSocket close codes, and the bytes an agent signs to activate.
 */
import protobuf from "protobufjs/minimal.js";
import { tether } from "../gen/tether.js";

// 64-bit fields carry millisecond times and counters, far below 2^53: decode them as plain numbers
// (protobufjs would hand out Long objects whenever the `long` package is installed).
protobuf.util.Long = null as unknown as typeof protobuf.util.Long;
protobuf.configure();

export const pb = tether.v1;
export type AgentToBroker = tether.v1.AgentToBroker;
export type BrokerToAgent = tether.v1.BrokerToAgent;
export type ConsoleToBroker = tether.v1.ConsoleToBroker;
export type BrokerToConsole = tether.v1.BrokerToConsole;

export const PROTOCOL_VERSION = 1;

/** Largest WebSocket message either side accepts; larger ones close the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Bounds on Hello fields. */
export const MAX_CODE_CHARS = 128;
export const MAX_MACHINE_NAME_CHARS = 255;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const FINGERPRINT_BYTES = 32;
export const NONCE_BYTES = 32;

/**
 * WebSocket close codes. 1000–1011 are the standard ones; 4000–4999 are Tether's own. Each says
 * what the client should do next.
 */
export const Close = {
  NORMAL: 1000, // done (after an activation result or a session closure): do not reconnect
  GOING_AWAY: 1001, // broker shutting down: reconnect
  UNSUPPORTED_DATA: 1003, // a text frame: this protocol is binary only
  MALFORMED: 1007, // undecodable protobuf
  POLICY: 1008, // a message out of order, or a field out of bounds
  TOO_BIG: 1009, // a frame over MAX_FRAME_BYTES
  INTERNAL: 1011,
  HELLO_TIMEOUT: 4000, // no Hello in time after the Challenge
  UNAUTHORIZED: 4401, // console: bad or missing credentials
  REPLACED: 4409, // the same session connected again from the same machine; this one is superseded
  HEARTBEAT_TIMEOUT: 4408, // nothing heard for too long
} as const;

const ACTIVATION_CONTEXT = Buffer.from("tether-activation-v1\0", "utf8");

/**
 * The bytes an agent signs with its Ed25519 key to activate: a context string, the broker's nonce,
 * then the code, the public key and the fingerprint, each length-prefixed so no two different
 * tuples give the same bytes.
 */
export function activationSignedBytes(nonce: Uint8Array, code: string, publicKey: Uint8Array, fingerprint: Uint8Array): Buffer {
  const parts = [nonce, Buffer.from(code, "utf8"), publicKey, fingerprint];
  const out: Buffer[] = [ACTIVATION_CONTEXT];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.length);
    out.push(len, Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  }
  return Buffer.concat(out);
}

export function encodeToAgent(msg: tether.v1.BrokerToAgent.$Properties): Uint8Array {
  return pb.BrokerToAgent.encode(msg).finish();
}
export function encodeToBroker(msg: tether.v1.AgentToBroker.$Properties): Uint8Array {
  return pb.AgentToBroker.encode(msg).finish();
}
export function encodeToConsole(msg: tether.v1.BrokerToConsole.$Properties): Uint8Array {
  return pb.BrokerToConsole.encode(msg).finish();
}

/** Scope between the API's strings and the wire enum. */
export function scopeToWire(s: "view" | "control"): tether.v1.Scope {
  return s === "control" ? pb.Scope.SCOPE_CONTROL : pb.Scope.SCOPE_VIEW;
}
export function scopeFromWire(s: tether.v1.Scope | null | undefined): "view" | "control" | null {
  if (s === pb.Scope.SCOPE_CONTROL) return "control";
  if (s === pb.Scope.SCOPE_VIEW) return "view";
  return null;
}

/** Turns a ws `RawData` into one Buffer (ws may hand over fragments as an array). */
export function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}
