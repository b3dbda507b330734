import { Store } from "../broker/store.js";
import { hashPassword, newPassword } from "../util/secrets.js";
import { CliError, parse, table, UsageError } from "./args.js";

export const technicianHelp = `Usage: tether technician <command> [--data ./data]

Manages technicians directly in the broker's data folder (works while the broker runs).

Commands:
  add <name> [--display-name TEXT]   create a technician; prints a console password and, on the
                                     last line, an API token
  list                               list technicians
  token <name>                       create another API token for a technician (printed alone)
  password <name>                    set a new random console password (printed alone)`;

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export async function technicianCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    data: { type: "string", default: "./data" },
    "display-name": { type: "string" },
    json: { type: "boolean", default: false },
  });
  const [sub, name] = positionals;
  if (!sub) throw new UsageError("missing command: add, list, token or password");
  const needName = () => {
    if (!name) throw new UsageError(`technician ${sub} needs a name`);
    return name;
  };
  const store = Store.open(values.data!);
  try {
    const out = (s: string) => process.stdout.write(s + "\n");
    const existing = (n: string) => {
      const t = store.technicianByName(n);
      if (!t) throw new CliError(`no technician named "${n}" in ${values.data}`);
      return t;
    };
    switch (sub) {
      case "add": {
        const n = needName();
        if (!NAME.test(n)) throw new UsageError("a technician name is 1-64 letters, digits, '.', '_' or '-'");
        if (store.technicianByName(n)) throw new CliError(`a technician named "${n}" exists already`);
        const display = (values["display-name"] ?? n).trim().slice(0, 100) || n;
        const password = newPassword();
        const t = store.createTechnician(n, display, await hashPassword(password), Date.now());
        out(`Created technician "${t.name}" (${t.displayName}).`);
        out(`Console password: ${password}`);
        out("API token (shown only now; use it as 'Authorization: Bearer <token>' or TETHER_TOKEN):");
        out(store.createToken(t.id, "api", Date.now(), null));
        return 0;
      }
      case "list": {
        const rows = store.listTechnicians();
        if (values.json) out(JSON.stringify(rows.map((t) => ({ name: t.name, displayName: t.displayName, createdAt: new Date(t.createdAt).toISOString() }))));
        else out(table(["NAME", "DISPLAY NAME", "CREATED"], rows.map((t) => [t.name, t.displayName, new Date(t.createdAt).toISOString()])));
        return 0;
      }
      case "token":
        out(store.createToken(existing(needName()).id, "api", Date.now(), null));
        return 0;
      case "password": {
        const t = existing(needName());
        const password = newPassword();
        store.setPassword(t.id, await hashPassword(password));
        out(password);
        return 0;
      }
      default:
        throw new UsageError(`unknown technician command "${sub}"`);
    }
  } finally {
    store.close();
  }
}
