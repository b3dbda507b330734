import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { historyKey, HistoryVerifier, readHistoryKeyFile, type HistoryEntry } from "../broker/history.js";
import { PgStore } from "../broker/pg-store.js";
import { redactUrlPassword } from "../util/text.js";
import { readHistory } from "../broker/store.js";
import { Exit } from "../util/exit.js";
import { CliError, parse, UsageError } from "./args.js";

export const auditHelp = `Usage: tether audit <command> [--data ./data]
       tether audit <command> --store postgres://… --history-key-file FILE   (a cluster)

The broker's history of every session (created, bound, app connected and gone, each access request
and answer, narrowed, stopped, ended, closed, deleted, chat, clipboard, files, recording), read from
its data folder on the broker's computer, or from a cluster's PostgreSQL (--store or TETHER_STORE).
Every entry is chained to the one before by a keyed hash (the key is <data>/history.key, or the
cluster's --history-key-file).

Commands:
  verify [--head SEQ:HASH]         checks the whole chain: exit 0 and the head (last entry and its
                                   hash: keep it elsewhere, a later verify must reach it again), or
                                   exit 1 naming the first entry that was changed, removed or moved.
                                   --head: a head printed earlier; the chain must still hold that
                                   entry with that hash (catches an end cut off, or a rewrite)
  export [--format json|csv] [--session ID]
                                   every entry (or one session's) on stdout, with its hash`;

/** Where the history is read from: a broker's SQLite file, or a cluster's PostgreSQL. */
interface HistorySource {
  /** False when the database has no history table yet (a broker from before it). */
  hasHistory: boolean;
  entries(sessionId?: string): AsyncIterable<HistoryEntry> | Iterable<HistoryEntry>;
  /** The key, or the line that says why there is none (an empty history needs none). */
  key(): Buffer | { missing: string };
  close(): Promise<void> | void;
}

export async function auditCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    data: { type: "string", default: "./data" },
    store: { type: "string" },
    "history-key-file": { type: "string" },
    format: { type: "string", default: "json" },
    session: { type: "string" },
    head: { type: "string" },
  });
  const [sub] = positionals;
  if (sub !== "verify" && sub !== "export")
    throw new UsageError(sub ? `unknown audit command "${sub}"` : "missing command: verify or export");
  const format = values.format;
  if (sub === "export" && format !== "json" && format !== "csv") throw new UsageError("--format is json or csv");
  const head = values.head === undefined ? null : /^(\d{1,15}):([0-9a-f]{64})$/.exec(values.head);
  if (values.head !== undefined && !head) throw new UsageError("--head is SEQ:HASH as verify printed it, e.g. 42:3f…(64 hex digits)");
  const storeUrl = values.store ?? process.env.TETHER_STORE ?? "";
  if (storeUrl && !/^postgres(ql)?:\/\//.test(storeUrl))
    throw new UsageError(`--store needs a postgres:// URL, not "${redactUrlPassword(storeUrl)}"`);
  const keyFile = values["history-key-file"];
  const source = storeUrl ? await clusterSource(storeUrl, keyFile) : sqliteSource(values.data!, keyFile);
  try {
    const out = (line: string) => process.stdout.write(line + "\n");
    if (sub === "export") {
      const entries = source.hasHistory ? source.entries(values.session) : [];
      if (format === "json") {
        out("[");
        let first = true;
        for await (const e of entries) {
          out(`${first ? "" : ","}${JSON.stringify(exported(e))}`);
          first = false;
        }
        out("]");
      } else {
        out("seq,at,session,kind,actor,data,hash");
        for await (const e of entries) {
          const x = exported(e);
          out([x.seq, x.at, x.sessionId, x.kind, x.actor, JSON.stringify(x.data), x.hash].map(csvField).join(","));
        }
      }
      return Exit.OK;
    }
    if (!source.hasHistory) {
      out("The history is empty (this broker's database has none yet).");
      return Exit.OK;
    }
    const key = source.key();
    let verifier: HistoryVerifier | null = Buffer.isBuffer(key) ? new HistoryVerifier(key) : null;
    let seen: HistoryEntry | null = null;
    for await (const e of source.entries()) {
      if (!verifier) throw new CliError((key as { missing: string }).missing);
      if (head && e.seq === Number(head[1])) seen = e;
      const bad = verifier.add(e);
      if (bad) {
        process.stderr.write(`The history does not hold: ${bad.message} (${bad.checked} entries before it hold).\n`);
        return Exit.FAILURE;
      }
    }
    verifier ??= new HistoryVerifier(Buffer.alloc(32)); // nothing was read: an empty history needs no key
    const r = verifier.result();
    if (head) {
      const found = seen as HistoryEntry | null;
      if (!found || found.hash !== head[2]) {
        process.stderr.write(
          `The history does not hold: entry ${head[1]} ${found ? "has another hash than" : "is not in it any more, unlike"} the head recorded earlier (${found ? "the history was rewritten" : "entries were cut off the end"}).\n`,
        );
        return Exit.FAILURE;
      }
    }
    out(r.head ? `The history holds: ${r.count} entries, the last is #${r.head.seq} with hash ${r.head.hash}.` : "The history is empty.");
    return Exit.OK;
  } finally {
    await source.close();
  }
}

function sqliteSource(dataDir: string, keyFile: string | undefined): HistorySource {
  const file = join(dataDir, "tether.db");
  if (!existsSync(file)) throw new CliError(`no broker data in ${dataDir} (${file} does not exist): pass --data, or --store for a cluster`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  return {
    hasHistory: db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'history'").get() !== undefined,
    entries: (sessionId) => readHistory(db, sessionId),
    key: () => {
      if (keyFile !== undefined) return readKeyFile(keyFile);
      return (
        historyKey(dataDir, false) ?? {
          missing: `the history's key (${join(dataDir, "history.key")}) is missing: nothing can be verified without it`,
        }
      );
    },
    close: () => {
      db.close();
    },
  };
}

async function clusterSource(url: string, keyFile: string | undefined): Promise<HistorySource> {
  let store: PgStore;
  try {
    store = await PgStore.openForReading(url);
  } catch (err) {
    throw new CliError(`cannot open the cluster store ${redactUrlPassword(url)}: ${(err as Error).message}`);
  }
  let key: Buffer | { missing: string };
  try {
    key =
      keyFile !== undefined
        ? readKeyFile(keyFile)
        : { missing: "a cluster's history is verified with its key: pass --history-key-file, the file every node was given" };
    if (Buffer.isBuffer(key) && (await store.isHistoryKey(key)) === false) {
      throw new CliError(`${keyFile} is not the key this cluster's history is written with: pass the file every node was given`);
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  return {
    hasHistory: true, // the store's migrations made the table
    entries: (sessionId) => store.historyEntries(sessionId),
    key: () => key,
    close: () => store.close(),
  };
}

function readKeyFile(file: string): Buffer {
  try {
    return readHistoryKeyFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code ? `cannot read the history key ${file} (${code})` : (err as Error).message);
  }
}

function exported(e: HistoryEntry) {
  return { seq: e.seq, at: new Date(e.at).toISOString(), sessionId: e.sessionId, kind: e.kind, actor: e.actor, data: e.data, hash: e.hash };
}

/** RFC 4180: quoted when it holds a comma, quote or line break; a leading =, +, - or @ is prefixed so spreadsheets do not run it. */
function csvField(v: string | number): string {
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
