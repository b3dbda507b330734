// tether-window's entry: the JSON-lines channel to the support app and GTK's main loop.
//
//   tether-window --probe   prints {"gtk":"3.24.38"} and exits 0 if a window can be shown here,
//                           exits 3 with one line on stderr if no display can be opened.
//   tether-window           reads commands from stdin, writes events to stdout; ends when stdin
//                           ends (the app is gone) or on {"cmd":"exit"}.
// A computer without GTK 3 never gets this far: the loader refuses to start the program (exit 127),
// and the app stays in the terminal.
#include <cstdio>
#include <cstring>

#include "ui.h"

namespace tether_window {

void Emit(const Json& event) {
  const std::string line = EventLine(event) + "\n";
  fwrite(line.data(), 1, line.size(), stdout);
  fflush(stdout);
}

namespace {

gboolean OnInput(GIOChannel* channel, GIOCondition condition, gpointer data) {
  auto* ui = static_cast<Ui*>(data);
  if (condition & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) {
    if (!(condition & G_IO_IN)) {
      gtk_main_quit();
      return G_SOURCE_REMOVE;
    }
  }
  gchar* line = nullptr;
  gsize length = 0;
  GError* error = nullptr;
  const GIOStatus status = g_io_channel_read_line(channel, &line, &length, nullptr, &error);
  if (error) g_error_free(error);
  if (status == G_IO_STATUS_EOF || status == G_IO_STATUS_ERROR) {
    g_free(line);
    gtk_main_quit();  // the app is gone: so are its windows
    return G_SOURCE_REMOVE;
  }
  if (line && length > 0 && length <= kMaxLine) {
    const Json command = Json::parse(line, line + length, nullptr, false);
    if (command.is_object()) {
      if (command.value("cmd", "") == "exit") {
        g_free(line);
        gtk_main_quit();
        return G_SOURCE_REMOVE;
      }
      ui->Apply(command);
    } else {
      fprintf(stderr, "tether-window: ignored a line that is not a JSON object\n");
    }
  }
  g_free(line);
  return G_SOURCE_CONTINUE;
}

}  // namespace
}  // namespace tether_window

int main(int argc, char** argv) {
  using namespace tether_window;
  const bool probe = argc > 1 && strcmp(argv[1], "--probe") == 0;
  if (!gtk_init_check(&argc, &argv)) {
    const char* display = g_getenv("DISPLAY");
    fprintf(stderr, "cannot open display %s\n",
            display && *display ? display : "(DISPLAY is not set)");
    return 3;
  }
  const std::string version = std::to_string(gtk_get_major_version()) + "." +
                              std::to_string(gtk_get_minor_version()) + "." +
                              std::to_string(gtk_get_micro_version());
  if (probe) {
    Emit(Json{{"gtk", version}});
    return 0;
  }
  g_set_prgname("tether-support");
  Ui ui;
  GIOChannel* in = g_io_channel_unix_new(0);
  g_io_channel_set_encoding(in, nullptr, nullptr);  // bytes; the JSON parser checks UTF-8
  g_io_add_watch(in, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR), OnInput, &ui);
  Emit(Json{{"ev", "ready"}, {"gtk", version}});
  gtk_main();
  g_io_channel_unref(in);
  return 0;
}
