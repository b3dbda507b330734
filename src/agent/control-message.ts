/**
 * The technician's messages on the "control" data channel, as the agent acts on them. Bytes come
 * from the network: anything undecodable, of another kind, or out of range reads as null.
 */
import { pb } from "../proto/wire.js";

/** What the agent does with a control message: today only the choice of monitor. */
export type ControlAction = { kind: "selectMonitor"; index: number };

/**
 * Decodes one `ControlMessage`. Returns the monitor choice when it names one of the `monitorCount`
 * monitors (index 0 … monitorCount − 1), else null. Never throws.
 */
export function readControlMessage(bytes: Uint8Array, monitorCount: number): ControlAction | null {
  let body: string | undefined;
  let index: number | null | undefined;
  try {
    const msg = pb.ControlMessage.decode(bytes);
    body = msg.body;
    index = msg.selectMonitor?.index;
  } catch {
    return null;
  }
  if (body !== "selectMonitor") return null;
  const i = index ?? 0;
  if (!Number.isInteger(i) || i < 0 || i >= monitorCount) return null;
  return { kind: "selectMonitor", index: i };
}
