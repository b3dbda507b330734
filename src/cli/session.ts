import { Exit } from "../util/exit.js";
import { isCertificateError } from "../util/tls.js";
import type { AccessRequestView, SessionView } from "../broker/service.js";
import type { HistoryView } from "../broker/views.js";
import { cleanChat, cleanName, MAX_DISPLAY_NAME } from "../util/text.js";
import { CliError, parse, parseDuration, table, UsageError } from "./args.js";

export const sessionHelp = `Usage: tether session <command> [--broker URL] [--token T] [--json]

Technician commands against a running broker. --broker defaults to $TETHER_BROKER or
http://127.0.0.1:8080; --token defaults to $TETHER_TOKEN (see \`tether technician add\`).
--json prints the API's JSON instead of tables, for scripts.

Commands:
  create --expires 1d|2h|30m|<seconds> [--label L] [--customer C] [--ticket T]
                                         create a session (1 s ... 30 days); prints its link last.
                                         Label, customer and ticket are shown in lists and searchable
  list [--search TEXT]                   your sessions (only those whose id, label, customer, ticket
                                         or machine name contain TEXT)
  show <id>                              one session
  history <id>                           what happened in it, oldest first (the tamper-evident history)
  chat <id> [TEXT]                       writes TEXT to the user (while the app runs, also before
                                         any consent); without TEXT, the session's messages
  close <id>                             close it: a running support app says so and exits
  delete <id>                            delete it (its link answers "invalid" from then on)
  request-access <id> --scope view|control [--wait]
                                         ask the user for remote access; --wait waits for the answer.
                                         While the user has granted access, only a narrowing
                                         (--scope view while you have control) is accepted, at once
  access-status <id> <request-id>        the status of an access request
  cancel-access <id> <request-id>        withdraw a request the user has not answered yet`;

type Json = Record<string, unknown>;
/** A chat message as the API gives it. */
type ChatLine = { id: string; from: string; name: string; text: string; at: string };

export async function sessionCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    broker: { type: "string" },
    token: { type: "string" },
    json: { type: "boolean", default: false },
    expires: { type: "string" },
    scope: { type: "string" },
    wait: { type: "boolean", default: false },
    label: { type: "string" },
    customer: { type: "string" },
    ticket: { type: "string" },
    search: { type: "string" },
  });
  const [sub, id, rid] = positionals;
  const base = (values.broker ?? process.env.TETHER_BROKER ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  const token = values.token ?? process.env.TETHER_TOKEN;
  if (!sub)
    throw new UsageError(
      "missing command: create, list, show, history, chat, close, delete, request-access, access-status or cancel-access",
    );
  if (!token) throw new UsageError("no API token: pass --token or set TETHER_TOKEN");
  const out = (s: string) => process.stdout.write(s + "\n");
  const needId = () => {
    if (!id) throw new UsageError(`session ${sub} needs a session id`);
    return encodeURIComponent(id);
  };

  const call = async (method: string, path: string, body?: Json): Promise<Json> => {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body && { "content-type": "application/json" }) },
        ...(body && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      const c = (err as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message ?? (err as Error).message;
      if (isCertificateError(c?.code)) {
        throw new CliError(
          `the broker at ${base} has a certificate this computer does not trust (${c!.code}); for a private CA set NODE_EXTRA_CA_CERTS=<ca.pem>`,
        );
      }
      throw new CliError(`cannot reach the broker at ${base} (${cause})`);
    }
    const text = await res.text();
    let json: Json;
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      throw new CliError(`${base} answered HTTP ${res.status} with something that is not Tether's JSON: is --broker right?`);
    }
    if (!res.ok) throw new CliError(`${String(json.message ?? "request failed")} (HTTP ${res.status})`);
    return json;
  };
  const print = (json: unknown, human: () => void) => (values.json ? out(JSON.stringify(json, null, 2)) : human());
  const showSession = (s: SessionView) =>
    out(
      [
        `id:         ${s.id}`,
        `state:      ${s.state}${s.state === "active" ? (s.online ? " (online)" : " (offline)") : ""}`,
        `machine:    ${s.machine ? `${s.machine.name} (${s.machine.os})` : "-"}`,
        ...(s.label ? [`label:      ${s.label}`] : []),
        ...(s.customer ? [`customer:   ${s.customer}`] : []),
        ...(s.ticket ? [`ticket:     ${s.ticket}`] : []),
        `expires:    ${s.expiresAt}`,
        `created:    ${s.createdAt}`,
        ...(s.closedAt ? [`closed:     ${s.closedAt}`] : []),
      ].join("\n"),
    );

  switch (sub) {
    case "create": {
      if (!values.expires) throw new UsageError("session create needs --expires (e.g. 1d, 2h, 30m or seconds)");
      const s = (await call("POST", "/api/sessions", {
        expiresIn: parseDuration(values.expires),
        ...(values.label !== undefined && { label: values.label }),
        ...(values.customer !== undefined && { customer: values.customer }),
        ...(values.ticket !== undefined && { ticket: values.ticket }),
      })) as unknown as SessionView & {
        link: string;
      };
      print(s, () => {
        out(`Created session ${s.id}; it must be started before ${s.expiresAt}.`);
        out("Send the user this link (shown only now):");
        out(s.link);
      });
      return Exit.OK;
    }
    case "list": {
      const query = values.search !== undefined ? `?q=${encodeURIComponent(values.search)}` : "";
      const { sessions } = (await call("GET", `/api/sessions${query}`)) as { sessions: SessionView[] };
      print(sessions, () =>
        out(
          table(
            ["ID", "STATE", "ONLINE", "LABEL", "CUSTOMER", "TICKET", "MACHINE", "EXPIRES"],
            sessions.map((s) => [
              s.id,
              s.state,
              s.online ? "yes" : "no",
              s.label ?? "-",
              s.customer ?? "-",
              s.ticket ?? "-",
              s.machine?.name ?? "-",
              s.expiresAt,
            ]),
          ),
        ),
      );
      return Exit.OK;
    }
    case "chat": {
      const text = positionals.slice(2).join(" ");
      if (text) {
        const m = (await call("POST", `/api/sessions/${needId()}/chat`, { text })) as unknown as ChatLine;
        print(m, () => out(`Sent at ${m.at}.`));
      } else {
        const { messages } = (await call("GET", `/api/sessions/${needId()}/chat`)) as { messages: ChatLine[] };
        print(messages, () => {
          for (const m of messages) {
            const name = cleanName(m.name, MAX_DISPLAY_NAME);
            out(`${m.at}  ${m.from === "user" ? `user (${name})` : name}: ${cleanChat(m.text)}`);
          }
          if (messages.length === 0) out("No messages yet.");
        });
      }
      return Exit.OK;
    }
    case "history": {
      const { entries } = (await call("GET", `/api/sessions/${needId()}/history`)) as { entries: HistoryView[] };
      print(entries, () =>
        out(
          table(
            ["#", "WHEN", "WHAT", "WHO", "DETAILS"],
            entries.map((e) => [String(e.seq), e.at, e.kind, e.actor, describeData(e.data)]),
          ),
        ),
      );
      return Exit.OK;
    }
    case "show": {
      const s = (await call("GET", `/api/sessions/${needId()}`)) as unknown as SessionView;
      print(s, () => showSession(s));
      return Exit.OK;
    }
    case "close": {
      const s = (await call("POST", `/api/sessions/${needId()}/close`)) as unknown as SessionView;
      print(s, () => out(`Closed session ${s.id}.`));
      return Exit.OK;
    }
    case "delete": {
      await call("DELETE", `/api/sessions/${needId()}`);
      print({ id, deleted: true }, () => out(`Deleted session ${id}.`));
      return Exit.OK;
    }
    case "request-access": {
      const scope = values.scope;
      if (scope !== "view" && scope !== "control") throw new UsageError("request-access needs --scope view or --scope control");
      let r = (await call("POST", `/api/sessions/${needId()}/access-requests`, { scope })) as unknown as AccessRequestView;
      if (!values.json) {
        out(
          r.status === "pending"
            ? `Access request ${r.id} (${r.scope}) sent; the user is asked now.`
            : `Access request ${r.id} narrowed to ${r.grantedScope}: your mouse and keyboard no longer reach the user's computer.`,
        );
      }
      while (values.wait && r.status === "pending") {
        await new Promise((res) => setTimeout(res, 250));
        r = (await call("GET", `/api/sessions/${needId()}/access-requests/${encodeURIComponent(r.id)}`)) as unknown as AccessRequestView;
      }
      print(r, () => out(describeAccess(r)));
      return Exit.OK;
    }
    case "cancel-access": {
      if (!rid) throw new UsageError("cancel-access needs a session id and a request id");
      const r = (await call(
        "POST",
        `/api/sessions/${needId()}/access-requests/${encodeURIComponent(rid)}/cancel`,
      )) as unknown as AccessRequestView;
      print(r, () => out(`Cancelled access request ${r.id}; the user's prompt closes.`));
      return Exit.OK;
    }
    case "access-status": {
      if (!rid) throw new UsageError("access-status needs a session id and a request id");
      const r = (await call("GET", `/api/sessions/${needId()}/access-requests/${encodeURIComponent(rid)}`)) as unknown as AccessRequestView;
      print(r, () => out(describeAccess(r)));
      return Exit.OK;
    }
    default:
      throw new UsageError(`unknown session command "${sub}"`);
  }
}

/** An entry's details as one line: key=value, text quoted when it has spaces. */
export function describeData(data: HistoryView["data"]): string {
  return Object.entries(data)
    .filter(([, v]) => v !== null && v !== "")
    .map(([k, v]) => {
      if (typeof v !== "string") return `${k}=${String(v)}`;
      const text = cleanChat(v); // broker data reaches the terminal only cleaned
      return `${k}=${/\s/.test(text) ? JSON.stringify(text) : text}`;
    })
    .join(" ");
}

function describeAccess(r: AccessRequestView): string {
  const detail = r.status === "granted" ? ` (${r.grantedScope})` : "";
  return `${r.id}: ${r.status}${detail}`;
}
