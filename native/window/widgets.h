// Small helpers shared by the windows of tether-window.
#pragma once

#include <gtk/gtk.h>

#include <string>

#include "ui.h"

namespace tether_window {

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

/**
 * A question's window (the consent dialog, a file question): a dialog over `parent`, centred, above
 * other windows, marked urgent, not resizable, with the question icon; returns the box for its
 * contents beside the icon.
 */
inline GtkWidget* QuestionWindow(GtkWindow* w, GtkWindow* parent, const std::string& title) {
  gtk_window_set_title(w, title.c_str());
  gtk_window_set_type_hint(w, GDK_WINDOW_TYPE_HINT_DIALOG);
  gtk_window_set_transient_for(w, parent);
  gtk_window_set_position(w, GTK_WIN_POS_CENTER);
  gtk_window_set_keep_above(w, TRUE);
  gtk_window_set_urgency_hint(w, TRUE);
  gtk_window_set_resizable(w, FALSE);
  gtk_window_set_icon_name(w, "dialog-question");
  GtkWidget* outer = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 16);
  gtk_container_set_border_width(GTK_CONTAINER(outer), 18);
  GtkWidget* icon = gtk_image_new_from_icon_name("dialog-question", GTK_ICON_SIZE_DIALOG);
  gtk_widget_set_valign(icon, GTK_ALIGN_START);
  gtk_box_pack_start(GTK_BOX(outer), icon, FALSE, FALSE, 0);
  GtkWidget* box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 10);
  gtk_box_pack_start(GTK_BOX(outer), box, TRUE, TRUE, 0);
  gtk_container_add(GTK_CONTAINER(w), outer);
  return box;
}

inline void AddClass(GtkWidget* w, const char* name) {
  gtk_style_context_add_class(gtk_widget_get_style_context(w), name);
}

inline void Destroy(GtkWidget*& w) {
  if (w) gtk_widget_destroy(w);
  w = nullptr;
}

}  // namespace tether_window
