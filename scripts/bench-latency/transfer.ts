/**
 * tether-transfer: while the scenarios run, the technician sends a file of random bytes
 * (TRANSFER_BYTES) to the user over the peer connection's "files" data channel, with the same
 * FileEndpoint as the console's viewer (src/console/viewer/tools.ts) and the support app; the app is
 * told "y" on its stdin whenever it asks, saves the file to $HOME/Downloads (a temporary HOME), and
 * the file is sent again as soon as one completes, so that a transfer runs for the whole measured
 * run. Each received file is checked against the SHA-256 it was made with (sha256sum at nice 19, so
 * that the check takes no CPU the system under test wants) and deleted.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

import { fileSource } from "../../src/agent/transfers.js";
import { pb } from "../../src/proto/wire.js";
import { CHANNEL_LOW_WATER, FileEndpoint, type FileChannel, type FileMsg, type TransferView } from "../../src/session/file-transfer.js";
import { tempDir, type Proc } from "../../test/support/procs.js";
import type { Receiver } from "../../test/support/receiver.js";
import { TRANSFER_BYTES } from "./config.js";
import { now, onCleanup, sleep } from "./harness.js";

/** The parts of @roamhq/wrtc's RTCDataChannel used here (test/support/receiver.ts sets binaryType). */
interface WrtcChannel {
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  onbufferedamountlow: (() => void) | null;
  onmessage: ((e: { data: ArrayBuffer }) => void) | null;
  send(d: Uint8Array): void;
}

/** What the transfer did, for the report. */
export interface TransferRun {
  fileBytes: number;
  /** Files the app saved, checked on disk against the source's SHA-256, and how many of those matched. */
  completed: number;
  checked: number;
  matched: number;
  /** Transfers that ended otherwise (declined, cancelled, failed), with their reasons. */
  failed: string[];
  /** Bytes the app acknowledged (written) over `seconds`, from the first accept to the stop. */
  bytes: number;
  seconds: number;
  mbPerSecond: number;
  /** How the sender's waits for the channel's buffer ended: the bufferedamountlow event, or the 20 ms poll beside it. */
  drainsByEvent: number;
  drainsByPoll: number;
}

export interface Transfer {
  /** Bytes acknowledged so far (all files). */
  bytes(): number;
  /** Stops sending (the transfer under way is cancelled), waits for the last checks, and says what happened. */
  stop(): Promise<TransferRun>;
}

const run = promisify(execFile);

/** A file of `size` random bytes in a temporary folder (removed on cleanup), and its hex SHA-256. */
function makeFile(size: number): { file: string; sha256: string } {
  const dir = tempDir("tether-bench-file-");
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, `bench-${Math.round(size / 1e6)}MB.bin`);
  const hash = createHash("sha256");
  const fd = openSync(file, "w");
  try {
    for (let off = 0; off < size;) {
      const block = randomBytes(Math.min(1 << 20, size - off));
      writeSync(fd, block);
      hash.update(block);
      off += block.length;
    }
  } finally {
    closeSync(fd);
  }
  return { file, sha256: hash.digest("hex") };
}

/**
 * Starts sending (the stream is running): `receiver`'s "files" channel, the `agent` to answer on
 * stdin, and where it saves (`downloads`).
 */
export async function startTransfer(receiver: Receiver, agent: Proc, downloads: string): Promise<Transfer> {
  const { file, sha256 } = makeFile(TRANSFER_BYTES);
  // test/support's Receiver keeps its channels to itself; read, not changed, here.
  const channels = receiver["channels"] as unknown as Map<string, WrtcChannel>;
  for (let i = 0; i < 200 && channels.get("files")?.readyState !== "open"; i++) await sleep(50);
  const ch = channels.get("files");
  if (ch?.readyState !== "open") throw new Error('tether-transfer: no open "files" data channel within 10 s');

  const out: TransferRun = {
    fileBytes: TRANSFER_BYTES,
    completed: 0,
    checked: 0,
    matched: 0,
    failed: [],
    bytes: 0,
    seconds: 0,
    mbPerSecond: 0,
    drainsByEvent: 0,
    drainsByPoll: 0,
  };
  // As the console's viewer does: the low-water event wakes the sender. @roamhq/wrtc's channel may
  // not fire it, so a 20 ms poll runs beside it (as the app's side does); the report says which woke it.
  ch.bufferedAmountLowThreshold = CHANNEL_LOW_WATER;
  const waiters: Array<(how: "event" | "poll") => void> = [];
  ch.onbufferedamountlow = () => {
    for (const w of waiters.splice(0)) w("event");
  };
  const channel: FileChannel = {
    send: (msg) => {
      if (ch.readyState === "open") ch.send(pb.FileMessage.encode(msg as Parameters<typeof pb.FileMessage.encode>[0]).finish());
    },
    get bufferedAmount() {
      return ch.bufferedAmount;
    },
    drained: () =>
      new Promise<void>((resolve) => {
        if (ch.readyState !== "open" || ch.bufferedAmount <= CHANNEL_LOW_WATER) return resolve();
        const poll = setInterval(() => {
          if (ch.readyState !== "open" || ch.bufferedAmount <= CHANNEL_LOW_WATER) done("poll");
        }, 20);
        const done = (how: "event" | "poll") => {
          clearInterval(poll);
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          if (how === "event") out.drainsByEvent++;
          else out.drainsByPoll++;
          resolve();
        };
        waiters.push(done);
      }),
  };

  let stopping = false;
  let current: string | null = null;
  let doneBytes = 0;
  let acked = 0;
  let startedAt: number | null = null;
  const checks: Promise<void>[] = [];
  const check = async (savedAs: string) => {
    const saved = path.join(downloads, savedAs);
    try {
      const { stdout } = await run("nice", ["-n", "19", "sha256sum", saved]);
      out.checked++;
      if (stdout.split(" ")[0] === sha256) out.matched++;
      else console.error(`  tether-transfer: ${savedAs} has SHA-256 ${stdout.split(" ")[0]}, sent ${sha256}`);
    } catch (e) {
      console.error(`  tether-transfer: cannot check ${saved}: ${(e as Error).message}`);
    } finally {
      rmSync(saved, { force: true });
    }
  };
  const send = async () => {
    const source = await fileSource(file);
    if (typeof source === "string") throw new Error(`tether-transfer: cannot read ${file}: ${source}`);
    current = files.send(source, path.basename(file));
  };
  const files: FileEndpoint = new FileEndpoint({
    channel,
    idPrefix: "b",
    maxBytes: Number.MAX_SAFE_INTEGER, // the app applies the broker's limit
    sha256: () => {
      const h = createHash("sha256");
      return { update: (d) => void h.update(d), digest: () => new Uint8Array(h.digest()) };
    },
    offered: async () => "declined", // nothing comes the other way here
    changed: (t: Readonly<TransferView>) => {
      if (t.direction !== "out") return;
      if (t.status === "moving") startedAt ??= now();
      acked = t.bytes;
      if (t.status === "done") {
        out.completed++;
        if (t.sha256 !== sha256) console.error(`  tether-transfer: the sender hashed ${t.sha256}, the file is ${sha256}`);
        checks.push(check(t.savedAs ?? path.basename(file)));
      } else if (t.status === "declined" || t.status === "cancelled" || t.status === "failed") {
        if (!stopping) out.failed.push(`${t.status} (${t.reason ?? "?"})`);
      } else return;
      doneBytes += t.status === "done" ? t.size : t.bytes;
      acked = 0;
      current = null;
      if (!stopping) void send();
    },
  });
  ch.onmessage = (e) => {
    let msg: FileMsg;
    try {
      msg = pb.FileMessage.decode(new Uint8Array(e.data)) as FileMsg;
    } catch {
      return;
    }
    files.handle(msg);
  };

  // The app's question (one per file) is answered on its stdin, as a user would.
  let answered = 0;
  const answer = setInterval(() => {
    const asked = agent.out.all.filter((l) => /wants to send you the file/.test(l)).length;
    for (; answered < asked; answered++) agent.child.stdin!.write("y\n");
  }, 50);
  onCleanup(() => clearInterval(answer));
  await send();

  const bytes = () => doneBytes + acked;
  return {
    bytes,
    async stop() {
      stopping = true;
      out.bytes = bytes();
      out.seconds = startedAt === null ? 0 : (now() - startedAt) / 1000;
      out.mbPerSecond = out.seconds > 0 ? out.bytes / 1e6 / out.seconds : 0;
      if (current) files.cancel(current);
      clearInterval(answer);
      await Promise.all(checks);
      files.close();
      return out;
    },
  };
}
