import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { historyKey, verifyHistory, type HistoryEntry } from "../broker/history.js";
import { readHistory } from "../broker/store.js";
import { Exit } from "../util/exit.js";
import { CliError, parse, UsageError } from "./args.js";

export const auditHelp = `Usage: tether audit <command> [--data ./data]

The broker's history of every session (created, bound, app connected and gone, each access request
and answer, narrowed, stopped, ended, closed, deleted), read from its data folder on the broker's
computer. Every entry is chained to the one before by a keyed hash (the key is <data>/history.key).

Commands:
  verify [--head SEQ:HASH]         checks the whole chain: exit 0 and the head (last entry and its
                                   hash: keep it elsewhere, a later verify must reach it again), or
                                   exit 1 naming the first entry that was changed, removed or moved.
                                   --head: a head printed earlier; the chain must still hold that
                                   entry with that hash (catches an end cut off, or a rewrite)
  export [--format json|csv] [--session ID]
                                   every entry (or one session's) on stdout, with its hash`;

export async function auditCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    data: { type: "string", default: "./data" },
    format: { type: "string", default: "json" },
    session: { type: "string" },
    head: { type: "string" },
  });
  const [sub] = positionals;
  if (sub !== "verify" && sub !== "export")
    throw new UsageError(sub ? `unknown audit command "${sub}"` : "missing command: verify or export");
  const file = join(values.data!, "tether.db");
  if (!existsSync(file)) throw new CliError(`no broker data in ${values.data} (${file} does not exist): pass --data`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const hasHistory = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'history'").get() !== undefined;
    const out = (s: string) => process.stdout.write(s + "\n");
    if (sub === "export") {
      const format = values.format;
      if (format !== "json" && format !== "csv") throw new UsageError("--format is json or csv");
      const entries = hasHistory ? readHistory(db, values.session) : [][Symbol.iterator]();
      if (format === "json") {
        out("[");
        let first = true;
        for (const e of entries) {
          out(`${first ? "" : ","}${JSON.stringify(exported(e))}`);
          first = false;
        }
        out("]");
      } else {
        out("seq,at,session,kind,actor,data,hash");
        for (const e of entries) {
          const x = exported(e);
          out([x.seq, x.at, x.sessionId, x.kind, x.actor, JSON.stringify(x.data), x.hash].map(csvField).join(","));
        }
      }
      return Exit.OK;
    }
    if (!hasHistory) {
      out("The history is empty (this broker's database has none yet).");
      return Exit.OK;
    }
    const key = historyKey(values.data!, false);
    const any = db.prepare("SELECT 1 FROM history LIMIT 1").get() !== undefined;
    if (!key) {
      if (!any) {
        out("The history is empty.");
        return Exit.OK;
      }
      throw new CliError(`the history's key (${join(values.data!, "history.key")}) is missing: nothing can be verified without it`);
    }
    const head = values.head === undefined ? null : /^(\d{1,15}):([0-9a-f]{64})$/.exec(values.head);
    if (values.head !== undefined && !head) throw new UsageError("--head is SEQ:HASH as verify printed it, e.g. 42:3f…(64 hex digits)");
    let seen: HistoryEntry | null = null;
    const entries = function* () {
      for (const e of readHistory(db)) {
        if (head && e.seq === Number(head[1])) seen = e;
        yield e;
      }
    };
    const r = verifyHistory(key, entries());
    if (!r.ok) {
      process.stderr.write(`The history does not hold: ${r.message} (${r.checked} entries before it hold).\n`);
      return Exit.FAILURE;
    }
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
    db.close();
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
