/**
 * The `tether` command. Every failure ends as one readable line on stderr and a non-zero exit
 * code: 2 for usage errors, the command's own code otherwise. Never a stack trace.
 */
import { agentCommand, agentHelp } from "./agent.js";
import { auditCommand, auditHelp } from "./audit.js";
import { CliError, UsageError } from "./args.js";
import { brokerCommand, brokerHelp } from "./broker.js";
import { sessionCommand, sessionHelp } from "./session.js";
import { technicianCommand, technicianHelp } from "./technician.js";
import { VERSION } from "./version.js";
import { Exit } from "../util/exit.js";

const mainHelp = `Usage: tether <command> [options]

Tether: attended remote support.

Commands:
  broker       run the broker (HTTP API, WebSockets, store)
  technician   manage technicians and tokens in the broker's data folder (add, list, password, remove, token)
  session      technician commands against a broker (create, list, show, history, close, delete, request-access)
  audit        the broker's tamper-evident history, from its data folder (verify, export)
  agent        the support app: tether agent <link>

Run "tether <command> --help" for a command's options. Version ${VERSION}.`;

const commands: Record<string, { run: (args: string[]) => Promise<number>; help: string }> = {
  broker: { run: brokerCommand, help: brokerHelp },
  technician: { run: technicianCommand, help: technicianHelp },
  session: { run: sessionCommand, help: sessionHelp },
  audit: { run: auditCommand, help: auditHelp },
  agent: { run: agentCommand, help: agentHelp },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(mainHelp + "\n");
    return name ? Exit.OK : Exit.USAGE;
  }
  if (name === "--version" || name === "-v") {
    process.stdout.write(VERSION + "\n");
    return Exit.OK;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`tether: unknown command "${name}". Run "tether --help" for the list.\n`);
    return Exit.USAGE;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(cmd.help + "\n");
    return Exit.OK;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tether ${name}: ${err.message}. Run "tether ${name} --help" for usage.\n`);
      return Exit.USAGE;
    }
    if (err instanceof CliError) {
      process.stderr.write(`${name === "agent" ? "" : `tether ${name}: `}${err.message}\n`);
      return err.exitCode;
    }
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`tether ${name}: ${e.code ? `${e.code}: ` : ""}${e.message.split("\n")[0]}\n`);
    return Exit.FAILURE;
  }
}
