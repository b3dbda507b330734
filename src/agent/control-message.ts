/**
 * The technician's messages on the "control" data channel, as the agent acts on them. Bytes come
 * from the network: anything undecodable, of another kind, or out of range reads as null.
 */
import { pb } from "../proto/wire.js";

/** What the agent does with a control message: the choice of monitor, the technician's clipboard, a clipboard request. */
export type ControlAction =
  { kind: "selectMonitor"; index: number } | { kind: "clipboard"; text: string } | { kind: "clipboardRequest" } | { kind: "closing" };

/** Clipboard text either way, in characters (UTF-16 code units). */
export const MAX_CLIPBOARD_CHARS = 100_000;

/**
 * Decodes one `ControlMessage`. Returns the monitor choice when it names one of the `monitorCount`
 * monitors (index 0 … monitorCount − 1), clipboard text of at most MAX_CLIPBOARD_CHARS, a clipboard
 * request, the viewer's closing, else null. Never throws.
 */
export function readControlMessage(bytes: Uint8Array, monitorCount: number): ControlAction | null {
  let body: string | undefined;
  let index: number | null | undefined;
  let text: string | null | undefined;
  try {
    const msg = pb.ControlMessage.decode(bytes);
    body = msg.body;
    index = msg.selectMonitor?.index;
    text = msg.clipboard?.text;
  } catch {
    return null;
  }
  if (body === "clipboardRequest") return { kind: "clipboardRequest" };
  if (body === "closing") return { kind: "closing" };
  if (body === "clipboard") return typeof text === "string" && text.length <= MAX_CLIPBOARD_CHARS ? { kind: "clipboard", text } : null;
  if (body !== "selectMonitor") return null;
  const i = index ?? 0;
  if (!Number.isInteger(i) || i < 0 || i >= monitorCount) return null;
  return { kind: "selectMonitor", index: i };
}
