// The protocol between the support app (src/agent/window-ui.ts) and its window program, the one
// description both window programs follow: tether_window (GTK 3, native/window/*.cc) on Linux and
// tether-window.exe (Win32, native/window/win32/) on Windows. Portable C++ only (no toolkit, no
// OS header): what is said, not how it is drawn.
//
// JSON lines, UTF-8, one object per line; lines longer than kMaxLine are not from the app and are
// dropped. The program ends when its standard input ends (the app is gone) or on {"cmd":"exit"}.
//
// Commands, app → window (every word shown comes from the app, in the user's language):
//   {"cmd":"main", "title", "heading", "status", "quit", "viewOnly", "stop", "chatPlaceholder"?,
//        "chatSend"?}
//        the app window: shown on the first one, texts replaced on later ones; nothing has the
//        keyboard when it first appears (Tab reaches the buttons): a stray Enter quits nothing.
//        With "chatSend" (the button's label) the window has a chat area: the messages (empty at
//        first), a one-line entry (at most kMaxChat characters; "chatPlaceholder" when empty) and
//        the button; Enter in the entry or the button sends its text (trimmed, not empty) as a
//        "chat" event and empties it
//   {"cmd":"chat", "from": "technician" | "user", "name", "text"}
//        a chat message, added at the end of the chat area (shown as "name: text"; the newest is
//        kept in view); "user" is the user's own message as sent
//   {"cmd":"status", "text"}              the status line (ignored once "final" came)
//   {"cmd":"ask", "id", "title", "heading", "body", "code", "timeLeft", "expiresInMs", "allow",
//        "viewOnly", "decline"}
//        the consent dialog. "code": the safety code line ("" none). "timeLeft": a template whose
//        "{time}" becomes m:ss left of "expiresInMs". "viewOnly": "" when only view is asked (no
//        such button). Decline has the keyboard; Allow and View only are armed kArmDelayMs after
//        the dialog appears; a key already down when it appeared answers nothing until released
//        (auto-repeat included); Escape and the close box decline. A new "ask" replaces the open
//        one.
//   {"cmd":"unask", "id"}                 closes that dialog (the broker ended the request)
//   {"cmd":"sharing", "text", "title", "canNarrow", "viewOnly", "stop", "recording", "area"?}
//        the sharing bar, at the top centre of "area" ([x, y, width, height] in device pixels,
//        screen coordinates; absent: the primary monitor), above every other window; also the
//        app window's sharing row. "text" "" hides both.
//   {"cmd":"final", "text", "close"}      the seed's outcome: the dialog and bar go, the app
//        window shows "text" with one button labelled "close"
//   {"cmd":"askFile", "id", "title", "heading", "body", "accept", "decline"}
//        a file question (issue 21): "heading" says who sends what or asks for what (name, size),
//        "body" where it goes or what leaves. A dialog of its own beside the app window (the
//        consent dialog's rules: Decline has the keyboard, Accept is armed kArmDelayMs after it
//        appears, a key already down answers nothing until released, Escape and the close box
//        decline); a new "askFile" with another id opens another dialog (one per file), with the
//        same id replaces that one. "final" closes them all without an answer; later ones are
//        ignored
//   {"cmd":"unaskFile", "id"}             closes that dialog (the sender cancelled); no answer
//   {"cmd":"transfers", "heading", "rows": [{"id", "text", "fraction", "cancel"?}]}
//        the file transfers, as rows in the app window under "heading" ("" and no rows: the section
//        is hidden): "text" one line ("report.pdf to you: 3.1 MB of 10 MB, 0:12 left"), "fraction"
//        0…1 a progress bar, "cancel" (the button's label) only while it can be cancelled. Replaces
//        the rows shown, in the order given; a row whose id stays keeps its widgets (and the
//        keyboard on its Cancel). Hidden by "final", ignored after it
//   {"cmd":"clipboardSwitch", "label", "visible", "on"}
//        a check box in the app window ("Share the clipboard with Jane Doe"), shown while
//        "visible"; the user toggling it sends "clipboardSwitch" (this command setting "on" sends
//        nothing). Hidden by "final", ignored after it
//   {"cmd":"sendFile", "label", "title", "visible"}   (GTK only for now: the Win32 program
//        ignores it; its GetOpenFileNameW version broke the sharing bar's View only in a test)
//        a button in the app window, under the transfers ("Send a file to Jane Doe…"), shown while
//        "visible" (with or without transfer rows); a later command changes its label (and the open
//        dialog's title) in place. The button opens the system's open-file dialog titled "title"
//        (GTK's file chooser): one existing local file, not modal (the
//        app window stays usable, commands keep being handled); while it is open the button brings
//        it to the front instead of opening another. The chosen file is sent as a "sendFile"
//        event; cancelled (Cancel, Escape, the close box): nothing. "visible": false while it is
//        open closes it without an event (the grant ended); so do "final" (which also hides the
//        button; later ones are ignored) and "exit". The dialog and the windows it opens are the
//        program's windows: in "geometry" and "focused" like the others
//   {"cmd":"watchClipboard", "on"}        while on, every change of the system clipboard's text
//        (the user copied) is sent as a "clipboard" event with "copied": true (a copy that holds no
//        text, e.g. only an image, is not sent); off: the clipboard is not read at all
//   {"cmd":"setClipboard", "text"}        puts "text" (≤ kMaxClipboard bytes) on the system
//   clipboard
//        (the window program owns it until someone else copies; on X it is gone when the program
//        ends unless a clipboard manager took it); no "clipboard" event follows for it. Longer
//        text is not set (a line on stderr). On Windows a lone "\n" becomes "\r\n" there (its line
//        ends); every "clipboard" event carries the text as the clipboard holds it
//   {"cmd":"readClipboard"}               answered by one "clipboard" event ("copied": false) with
//   the
//        clipboard's text ("" when it holds no text)
//   {"cmd":"exit"}
//
// Events, window → app:
//   {"ev":"ready", <toolkit>: "<version>"}     the first line, once the program can show windows
//        (<toolkit> is "gtk" or "win32")
//   {"ev":"answer", "id", "answer": "allow" | "view" | "decline"}
//   {"ev":"stop"}  {"ev":"narrow"}        Stop sharing / View only (app window or sharing bar)
//   {"ev":"quit"}                         Quit or the app window's close box (the app decides)
//   {"ev":"chat", "text"}                 the user sends a chat message
//   {"ev":"closed"}                       the final message was closed
//   {"ev":"fileAnswer", "id", "answer": "accept" | "decline"}
//   {"ev":"cancelTransfer", "id"}         a transfer row's Cancel
//   {"ev":"clipboardSwitch", "on"}        the user turned clipboard sharing on or off
//   {"ev":"sendFile", "path"}             the user chose a file to send (see sendFile)
//        "path": absolute, UTF-8 (on Windows a Windows path such as C:\Users\…); at most one per
//        dialog. On Linux a name that is not valid UTF-8 is not sent (a line on stderr)
//   {"ev":"clipboard", "text", "copied"}  the clipboard's text (see watchClipboard, readClipboard);
//        longer than kMaxClipboard bytes: "text" is "" and "tooLong": true
//   {"ev":"geometry", "rects": [[x, y, width, height], …], "focused": bool}
//        after every change: the visible windows' outer rectangles in device pixels, screen
//        coordinates (the app window, the consent dialog, the bar, the file questions, oldest
//        first, then the open-file dialog of sendFile and any window it opened, such as a
//        completion list or a message box; on Linux also any other window GTK shows for the
//        program, such as a context menu; hidden ones left out), and whether one of the program's
//        windows but the bar has the keyboard (the app's input guard drops the technician's input
//        there). Sent only when it differs from the last one.
//   {"ev":"tree", "windows": [{"kind": "main" | "dialog" | "bar" | "file" | "chooser", "id"?,
//        "title", "active"?, "nodes": [{"role", "name", "rect"?, "insensitive"?, "focused"?,
//        "checked"?, "fraction"?}]}]}
//        with TETHER_TRACE_UI=1 only: what each visible window shows, for the tests; "active": it
//        has the keyboard. "file": a file question, with its "id". "chooser": sendFile's open-file
//        dialog, last (on Windows: its labels, buttons and edit boxes, an edit box named by the
//        text it holds). Roles are ATK's names on both toolkits ("label", "push button",
//        "check box", "progress bar", "text"); a check box has "checked", a progress bar
//        "fraction" (0…1) and is named by its transfer row's text
//
// `--probe`: prints {"<toolkit>":"<version>"} and exits 0 if a window can be shown here; exits 3
// with one line on stderr if not.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace tether_window {

using Json = nlohmann::json;

/**
 * Commands are a few hundred bytes (clipboard text up to kMaxClipboard, escaped); a longer line is
 * not from the app.
 */
constexpr std::size_t kMaxLine = 512 * 1024;

/**
 * Buttons that grant stay disabled this long after the dialog appears: a click or a key meant for
 * another window in that moment must not answer (browsers' security dialogs do the same).
 */
constexpr unsigned kArmDelayMs = 700;

/** The longest chat message the entry takes (characters; the broker's limit). */
constexpr int kMaxChat = 2000;

/** Clipboard text either way, in UTF-8 bytes (the app's limit is 100,000 characters). */
constexpr std::size_t kMaxClipboard = 400 * 1024;

/** How often the sharing bar puts itself back on top of every other window. */
constexpr unsigned kRaiseEveryMs = 1000;

/** The string member `key` of `c`, or "" when absent or not a string. */
std::string Str(const Json& c, const char* key);

/** The boolean member `key` of `c`, or false when absent or not a boolean. */
bool Flag(const Json& c, const char* key);

/** The number member `key` of `c`, or 0 when absent or not a number. */
double Number(const Json& c, const char* key);

/** "area" of a sharing command as x, y, width, height; false (and zeros) when absent or invalid. */
bool Area(const Json& c, int area[4]);

/** Milliseconds left to answer from "expiresInMs", clamped to [0, 1 h]. */
int64_t ExpiresInMs(const Json& c);

/** `time_template` with "{time}" replaced by m:ss of `left_ms` (rounded up to whole seconds). */
std::string TimeLeftText(const std::string& time_template, int64_t left_ms);

/** The line for an event (no newline), invalid UTF-8 replaced. */
std::string EventLine(const Json& event);

/** {"ev":"answer","id":…,"answer":…}. */
Json AnswerEvent(const std::string& id, const char* answer);

/**
 * {"ev":"clipboard","text":…,"copied":…}; text longer than kMaxClipboard bytes is not sent: "text"
 * is "" and "tooLong" true.
 */
Json ClipboardEvent(const std::string& text, bool copied);

/** {"ev":"geometry","rects":…,"focused":…}; each rect is x, y, width, height. */
Json GeometryEvent(const int (*rects)[4], int count, bool focused);

}  // namespace tether_window
