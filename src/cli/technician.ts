import { Exit } from "../util/exit.js";
import { Store, type BrokerStore, type Technician, type TokenInfo } from "../broker/store.js";
import { PgStore } from "../broker/pg-store.js";
import { cleanName, MAX_DISPLAY_NAME } from "../util/text.js";
import { hashPassword, newPassword } from "../util/secrets.js";
import { CliError, parse, parseDuration, table, UsageError } from "./args.js";

export const technicianHelp = `Usage: tether technician <command> [--data ./data]

Manages technicians and their tokens directly in the broker's data folder. Works while the broker
runs: a revoked token or a removed technician is refused from the next request on.

Commands:
  add <name> [--display-name TEXT] [--expires 90d] [--label TEXT]
                                     create a technician; prints a console password and, on the
                                     last line, an API token (with its id and expiry above it)
  list [--all]                       list technicians (--all: removed ones too)
  password <name>                    set a new random console password (printed alone)
  remove <name>                      remove a technician: every token is revoked and they can no
                                     longer sign in; their sessions are kept for the record, and
                                     the name is not given out again
  token create <name> [--expires 90d] [--label TEXT]
                                     create another API token, printed alone on stdout (its id
                                     and expiry go to stderr)
  token <name>                       the same as "token create <name>"
  token list [<name>] [--all]        tokens (API tokens and console sign-ins) with id, label,
                                     created, expiry and last use; never the token itself
                                     (--all: expired ones too)
  token revoke <token-id>            revoke one token (an API token or a console sign-in) at once
  token revoke --all <name>          revoke every token of a technician

Options:
  --expires D   how long an API token is valid: 1h to 365d (e.g. 12h, 30d, 90d, 365d; default
                90d). Tokens always expire: make a new one before the old one runs out
  --label TEXT  what the token is for (shown by "token list"), e.g. "ci" or "jane's laptop"
  --json        list commands print JSON
  --data DIR    the broker's data folder (default ./data)`;

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const HOUR_S = 3600;
const MAX_TOKEN_S = 365 * 86400;
const DEFAULT_TOKEN = "90d";

/** `--expires` for API tokens: 1 h … 365 d, never unlimited. */
function tokenLifetimeMs(text: string | undefined): number {
  const t = (text ?? DEFAULT_TOKEN).trim();
  if (/^(never|none|0|infinite|unlimited)$/i.test(t)) {
    throw new UsageError("API tokens always expire: --expires takes 1h to 365d (e.g. 30d, 90d, 365d)");
  }
  const s = parseDuration(t);
  if (s < HOUR_S || s > MAX_TOKEN_S) throw new UsageError(`--expires must be from 1h to 365d, not "${text}"`);
  return s * 1000;
}

function tokenLabel(text: string | undefined): string | null {
  if (text === undefined) return null;
  const label = text.trim();
  // eslint-disable-next-line no-control-regex
  if (!label || label.length > 100 || /[\u0000-\u001f\u007f]/.test(label)) {
    throw new UsageError("--label must be 1-100 printable characters");
  }
  return label;
}

/** UTC, to the second: "2026-11-28T12:00:00Z". */
const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const kindText = (k: TokenInfo["kind"]) => (k === "api" ? "api" : "console sign-in");

export async function technicianCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    data: { type: "string", default: "./data" },
    store: { type: "string" },
    "display-name": { type: "string" },
    expires: { type: "string" },
    label: { type: "string" },
    all: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  });
  const [sub] = positionals;
  if (!sub) throw new UsageError("missing command: add, list, password, remove or token");
  const needName = (n: string | undefined, what = `technician ${sub}`) => {
    if (!n) throw new UsageError(`${what} needs a name`);
    return n;
  };
  const atMost = (count: number, what: string) => {
    if (positionals.length > count)
      throw new UsageError(`${what} takes no more arguments than shown in --help ("${positionals[count]}" is extra)`);
  };
  // Validate flags before touching the data folder.
  const expiresMs = sub === "add" || sub === "token" ? tokenLifetimeMs(values.expires) : 0;
  const label = tokenLabel(values.label);

  // A cluster's technicians are in its PostgreSQL (--store or TETHER_STORE), else in <data>/tether.db.
  const storeUrl = values.store ?? process.env.TETHER_STORE ?? "";
  if (storeUrl && !/^postgres(ql)?:\/\//.test(storeUrl)) throw new UsageError(`--store needs a postgres:// URL, not "${storeUrl}"`);
  const store: BrokerStore = storeUrl ? await PgStore.open(storeUrl, null) : Store.open(values.data!);
  const where = storeUrl ? "the cluster's store" : values.data;
  try {
    const out = (s: string) => process.stdout.write(s + "\n");
    const note = (s: string) => process.stderr.write(s + "\n");
    const existing = async (n: string): Promise<Technician> => {
      const t = await store.technicianByName(n, true);
      if (!t) throw new CliError(`no technician named "${n}" in ${where}`);
      if (t.removedAt !== null) throw new CliError(`technician "${t.name}" was removed on ${when(t.removedAt)}`);
      return t;
    };
    const createToken = async (t: Technician) => {
      const now = Date.now();
      return store.issueToken(t.id, "api", now, now + expiresMs, label);
    };

    switch (sub) {
      case "add": {
        const n = needName(positionals[1]);
        atMost(2, "technician add");
        if (!NAME.test(n)) throw new UsageError("a technician name is 1-64 letters, digits, '.', '_' or '-'");
        const taken = await store.technicianByName(n, true);
        if (taken?.removedAt === null) throw new CliError(`a technician named "${n}" exists already`);
        if (taken) throw new CliError(`the name "${taken.name}" belonged to a technician who was removed; names are not given out again`);
        // Shown in the user's terminal and prompts: no control characters or direction overrides.
        const display = cleanName(values["display-name"] ?? n, MAX_DISPLAY_NAME) || n;
        const password = newPassword();
        const t = await store.createTechnician(n, display, await hashPassword(password), Date.now());
        const tok = await createToken(t);
        out(`Created technician "${t.name}" (${t.displayName}).`);
        out(`Console password: ${password}`);
        out(
          `API token ${tok.id}, valid until ${when(tok.expiresAt)} (shown only now; use it as 'Authorization: Bearer <token>' or TETHER_TOKEN):`,
        );
        out(tok.token);
        return Exit.OK;
      }
      case "list": {
        atMost(1, "technician list");
        const rows = await store.listTechnicians(values.all);
        if (values.json) {
          out(
            JSON.stringify(
              rows.map((t) => ({
                name: t.name,
                displayName: t.displayName,
                createdAt: new Date(t.createdAt).toISOString(),
                ...(t.removedAt !== null && { removedAt: new Date(t.removedAt).toISOString() }),
              })),
            ),
          );
        } else if (values.all) {
          out(
            table(
              ["NAME", "DISPLAY NAME", "CREATED", "REMOVED"],
              rows.map((t) => [
                t.name,
                t.displayName,
                new Date(t.createdAt).toISOString(),
                t.removedAt === null ? "-" : new Date(t.removedAt).toISOString(),
              ]),
            ),
          );
        } else {
          out(
            table(
              ["NAME", "DISPLAY NAME", "CREATED"],
              rows.map((t) => [t.name, t.displayName, new Date(t.createdAt).toISOString()]),
            ),
          );
        }
        return Exit.OK;
      }
      case "password": {
        atMost(2, "technician password");
        const t = await existing(needName(positionals[1]));
        const password = newPassword();
        await store.setPassword(t.id, await hashPassword(password));
        out(password);
        return Exit.OK;
      }
      case "remove": {
        atMost(2, "technician remove");
        const t = await existing(needName(positionals[1]));
        const revoked = await store.removeTechnician(t.id, Date.now());
        if (revoked === null) throw new CliError(`technician "${t.name}" was removed meanwhile`);
        out(
          `Removed technician "${t.name}" (${t.displayName}): ${revoked} token${revoked === 1 ? "" : "s"} revoked, no sign-in from now on; their sessions are kept.`,
        );
        return Exit.OK;
      }
      case "token":
        return await tokenCommand();
      default:
        throw new UsageError(`unknown technician command "${sub}"`);
    }

    async function tokenCommand(): Promise<number> {
      const [, action, arg] = positionals;
      switch (action) {
        case "create": {
          atMost(3, "technician token create");
          const t = await existing(needName(arg, "technician token create"));
          const tok = await createToken(t);
          out(tok.token);
          note(`API token ${tok.id} for "${t.name}", valid until ${when(tok.expiresAt)}.`);
          return Exit.OK;
        }
        case "list": {
          atMost(3, "technician token list");
          const now = Date.now();
          const rows = (await store.listTokens(arg === undefined ? undefined : (await existing(arg)).id)).filter(
            (k) => values.all || k.expiresAt > now,
          );
          if (values.json) {
            out(
              JSON.stringify(
                rows.map((k) => ({
                  id: k.id,
                  technician: k.technicianName,
                  kind: k.kind,
                  label: k.label,
                  createdAt: new Date(k.createdAt).toISOString(),
                  expiresAt: new Date(k.expiresAt).toISOString(),
                  lastUsedAt: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString(),
                  expired: k.expiresAt <= now,
                })),
              ),
            );
          } else {
            out(
              table(
                ["ID", "TECHNICIAN", "KIND", "LABEL", "CREATED", "EXPIRES", "LAST USED"],
                rows.map((k) => [
                  k.id,
                  k.technicianName,
                  kindText(k.kind),
                  k.label ?? "-",
                  when(k.createdAt),
                  when(k.expiresAt) + (k.expiresAt <= now ? " (expired)" : ""),
                  k.lastUsedAt === null ? "-" : when(k.lastUsedAt),
                ]),
              ),
            );
          }
          return Exit.OK;
        }
        case "revoke": {
          atMost(3, "technician token revoke");
          if (values.all) {
            const t = await existing(needName(arg, "technician token revoke --all"));
            const n = await store.revokeTokensOf(t.id);
            out(`Revoked ${n} token${n === 1 ? "" : "s"} of "${t.name}".`);
            return Exit.OK;
          }
          if (!arg) throw new UsageError("technician token revoke needs a token id (tk_…, see token list) or --all <name>");
          const k = await store.token(arg);
          if (!k || !(await store.revokeToken(k.id))) throw new CliError(`no token with id "${arg}" (see: tether technician token list)`);
          out(`Revoked ${k.kind === "api" ? "API token" : "console sign-in"} ${k.id} of "${k.technicianName}".`);
          return Exit.OK;
        }
        case undefined:
          throw new UsageError("technician token needs create <name>, list [<name>], revoke <token-id> or a name");
        default: {
          // "token <name>": the short form of "token create <name>".
          atMost(2, "technician token <name>");
          const t = await existing(action);
          const tok = await createToken(t);
          out(tok.token);
          note(`API token ${tok.id} for "${t.name}", valid until ${when(tok.expiresAt)}.`);
          return Exit.OK;
        }
      }
    }
  } finally {
    await store.close();
  }
}
