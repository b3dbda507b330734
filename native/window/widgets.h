// Small helpers shared by the windows of tether-window.
#pragma once

#include <gtk/gtk.h>

#include <string>

#include "ui.h"

namespace tether_window {

inline std::string Str(const Json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline GtkWidget* Label(const std::string& text, bool wrap = true) {
  GtkWidget* l = gtk_label_new(text.c_str());
  gtk_label_set_xalign(GTK_LABEL(l), 0.0f);
  if (wrap) {
    gtk_label_set_line_wrap(GTK_LABEL(l), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(l), 52);
    gtk_label_set_width_chars(GTK_LABEL(l), 40);
  }
  return l;
}

inline void SetHeading(GtkWidget* label, const std::string& text) {
  gchar* markup =
      g_markup_printf_escaped("<span weight=\"bold\" size=\"large\">%s</span>", text.c_str());
  gtk_label_set_markup(GTK_LABEL(label), markup);
  g_free(markup);
}

inline void AddClass(GtkWidget* w, const char* name) {
  gtk_style_context_add_class(gtk_widget_get_style_context(w), name);
}

inline void Destroy(GtkWidget*& w) {
  if (w) gtk_widget_destroy(w);
  w = nullptr;
}

}  // namespace tether_window
