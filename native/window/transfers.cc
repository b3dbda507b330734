// The app window's parts for issue 21: the clipboard switch (a check box: share the clipboard with
// the technician) and the file transfers section (a heading, then one row per transfer: its line
// of text, a progress bar and, while it can be cancelled, Cancel), then the send-a-file button
// (send_file.cc).
#include <algorithm>

#include "ui.h"
#include "widgets.h"

namespace tether_window {

void Ui::BuildTools(GtkWidget* box) {
  clip_check_ = gtk_check_button_new_with_label("");
  g_signal_connect(
      clip_check_, "toggled", G_CALLBACK(+[](GtkToggleButton* b, gpointer data) {
        auto* self = static_cast<Ui*>(data);
        self->ScheduleTree();
        if (self->switching_) return;  // the app set it: nothing to tell it
        Emit(Json{{"ev", "clipboardSwitch"}, {"on", gtk_toggle_button_get_active(b) != FALSE}});
      }),
      this);
  gtk_box_pack_start(GTK_BOX(box), clip_check_, FALSE, FALSE, 0);

  transfers_box_ = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
  transfers_heading_ = Label("");
  rows_box_ = gtk_box_new(GTK_ORIENTATION_VERTICAL, 8);
  gtk_box_pack_start(GTK_BOX(transfers_box_), transfers_heading_, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(transfers_box_), rows_box_, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), transfers_box_, FALSE, FALSE, 0);
  BuildSendFile(box);  // under the transfers, shown with or without them (send_file.cc)
}

void Ui::ClipboardSwitch(const Json& c) {
  if (final_) return;
  gtk_button_set_label(GTK_BUTTON(clip_check_), Str(c, "label").c_str());
  switching_ = true;
  gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(clip_check_), Flag(c, "on"));
  switching_ = false;
  gtk_widget_set_visible(clip_check_, Flag(c, "visible"));
}

void Ui::Transfers(const Json& c) {
  if (final_) return;
  std::vector<std::unique_ptr<TransferRow>> shown;
  const auto rows = c.find("rows");
  if (rows != c.end() && rows->is_array()) {
    for (const Json& r : *rows) {
      const std::string id = Str(r, "id");
      if (id.empty() ||
          std::any_of(shown.begin(), shown.end(), [&](const auto& row) { return row->id == id; }))
        continue;
      // A row that stays keeps its widgets (and the keyboard, if its Cancel has it).
      auto it = std::find_if(rows_.begin(), rows_.end(),
                             [&](const auto& row) { return row && row->id == id; });
      std::unique_ptr<TransferRow> row;
      if (it != rows_.end()) {
        row = std::move(*it);
      } else {
        row = std::make_unique<TransferRow>();
        row->id = id;
        row->box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
        row->text = Label("", false);
        gtk_label_set_ellipsize(GTK_LABEL(row->text), PANGO_ELLIPSIZE_MIDDLE);
        gtk_label_set_max_width_chars(GTK_LABEL(row->text), 52);
        GtkWidget* line = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        row->bar = gtk_progress_bar_new();
        gtk_widget_set_valign(row->bar, GTK_ALIGN_CENTER);
        row->cancel = gtk_button_new_with_label("");
        g_object_set_data_full(G_OBJECT(row->cancel), "id", g_strdup(id.c_str()), g_free);
        g_signal_connect(
            row->cancel, "clicked", G_CALLBACK(+[](GtkButton* b, gpointer) {
              Emit(Json{{"ev", "cancelTransfer"},
                        {"id", static_cast<const char*>(g_object_get_data(G_OBJECT(b), "id"))}});
            }),
            nullptr);
        gtk_box_pack_start(GTK_BOX(line), row->bar, TRUE, TRUE, 0);
        gtk_box_pack_start(GTK_BOX(line), row->cancel, FALSE, FALSE, 0);
        gtk_box_pack_start(GTK_BOX(row->box), row->text, FALSE, FALSE, 0);
        gtk_box_pack_start(GTK_BOX(row->box), line, FALSE, FALSE, 0);
        gtk_box_pack_start(GTK_BOX(rows_box_), row->box, FALSE, FALSE, 0);
        gtk_widget_show_all(row->box);
      }
      const std::string text = Str(r, "text");
      gtk_label_set_text(GTK_LABEL(row->text), text.c_str());
      // Screen readers (and the tests' tree) name the bar by its row's line.
      atk_object_set_name(gtk_widget_get_accessible(row->bar), text.c_str());
      gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(row->bar),
                                    std::clamp(Number(r, "fraction"), 0.0, 1.0));
      const std::string cancel = Str(r, "cancel");
      gtk_button_set_label(GTK_BUTTON(row->cancel), cancel.c_str());
      gtk_widget_set_visible(row->cancel, !cancel.empty());
      shown.push_back(std::move(row));
    }
  }
  for (auto& gone : rows_)
    if (gone) gtk_widget_destroy(gone->box);
  rows_ = std::move(shown);
  for (size_t i = 0; i < rows_.size(); i++)
    gtk_box_reorder_child(GTK_BOX(rows_box_), rows_[i]->box, static_cast<int>(i));
  const std::string heading = Str(c, "heading");
  gchar* markup = g_markup_printf_escaped("<b>%s</b>", heading.c_str());
  gtk_label_set_markup(GTK_LABEL(transfers_heading_), markup);
  g_free(markup);
  gtk_widget_set_visible(transfers_heading_, !heading.empty());
  gtk_widget_set_visible(transfers_box_, !heading.empty() || !rows_.empty());
}

}  // namespace tether_window
