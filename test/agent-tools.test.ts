/**
 * The app's Tools (src/agent/transfers.ts) sending one of the user's own files: to the newest
 * connection with an open files channel, only a regular file within the broker's limit, and each
 * refusal said to the user. The interface is a fake (pure logic); the files are real.
 */
import { describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { catalogs } from "../src/agent/messages.js";
import { Tools } from "../src/agent/transfers.js";
import type { UserInterface } from "../src/agent/ui.js";
import type { FileSource } from "../src/session/file-transfer.js";
import { tempDir } from "./support/procs.js";

function fakeUi() {
  const said: string[] = [];
  const shown: { visible: boolean; technician: string }[] = [];
  let sendFile: (file: string) => void = () => {};
  const ui = {
    messages: catalogs.en,
    say: (l: string) => said.push(l),
    showSendFile: (o: { visible: boolean; technician: string }) => shown.push(o),
    onSendFile: (h: (file: string) => void) => (sendFile = h),
    onCancelTransfer: () => {},
    transfers: () => {},
    clipboard: null,
  } as unknown as UserInterface;
  return { ui, said, shown, choose: (file: string) => sendFile(file) };
}

describe("the user's own files (Tools.sendFile)", () => {
  it("go to the newest connection with an open files channel; nothing without one; a folder, a missing file or one over the limit is refused with a reason", async () => {
    const dir = tempDir("tether-tools-");
    const file = join(dir, "report.pdf");
    writeFileSync(file, Buffer.alloc(2000, 1));
    writeFileSync(join(dir, "big.iso"), Buffer.alloc(5001));
    mkdirSync(join(dir, "folder"));
    const f = fakeUi();
    const tools = new Tools({ ui: f.ui, messages: catalogs.en, os: "linux", maxFileBytes: () => 5000, record: () => {} });

    await tools.sendFile(file);
    expect(f.said.at(-1)).toBe("Nobody is connected to your screen right now, so there is no one to send a file to.");

    const sent: { to: string; name: string; size: number }[] = [];
    const sender = (to: string) => (source: FileSource, name: string) => {
      sent.push({ to, name, size: source.size });
      source.close();
      return "a1";
    };
    const jane = tools.forGrant("ar_1", () => "Jane Doe");
    jane.sendWith(sender("jane"));
    const max = tools.forGrant("ar_2", () => "Max Muster");
    expect(f.shown.at(-1)).toEqual({ visible: true, technician: "Jane Doe" }); // Max's files channel is not open yet
    max.sendWith(sender("max"));
    expect(f.shown.at(-1)).toEqual({ visible: true, technician: "Max Muster" });

    f.choose(file); // as the window's chooser does
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toEqual([{ to: "max", name: "report.pdf", size: 2000 }]);
    expect(f.said.at(-1)).toBe('"report.pdf" (2.0 KB) is offered to Max Muster; it is sent once Max Muster accepts it.');

    max.detach();
    expect(f.shown.at(-1)).toEqual({ visible: true, technician: "Jane Doe" });
    await tools.sendFile(file);
    expect(sent.at(-1)).toEqual({ to: "jane", name: "report.pdf", size: 2000 });

    await tools.sendFile(join(dir, "folder"));
    expect(f.said.at(-1)).toBe(`${join(dir, "folder")} cannot be sent: it is not a file.`);
    await tools.sendFile(join(dir, "gone.txt"));
    expect(f.said.at(-1)).toBe(`${join(dir, "gone.txt")} cannot be sent: there is no such file.`);
    await tools.sendFile(join(dir, "big.iso"));
    expect(f.said.at(-1)).toBe(`${join(dir, "big.iso")} cannot be sent: it is larger than the support server allows (5.0 KB).`);
    expect(sent).toHaveLength(2);

    jane.detach();
    expect(f.shown.at(-1)).toEqual({ visible: false, technician: "" });
  });
});
