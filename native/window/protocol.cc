#include "protocol.h"

#include <algorithm>

namespace tether_window {

std::string Str(const Json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool Flag(const Json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_boolean() && it->get<bool>();
}

double Number(const Json& c, const char* key) {
  auto it = c.find(key);
  return it != c.end() && it->is_number() ? it->get<double>() : 0.0;
}

bool Area(const Json& c, int area[4]) {
  std::fill(area, area + 4, 0);
  const auto a = c.find("area");
  if (a == c.end() || !a->is_array() || a->size() != 4) return false;
  for (int i = 0; i < 4; i++) {
    if (!(*a)[i].is_number_integer()) return false;
    area[i] = (*a)[i].get<int>();
  }
  return area[2] > 0 && area[3] > 0;
}

int64_t ExpiresInMs(const Json& c) {
  const double ms = c.value("expiresInMs", 0.0);
  return static_cast<int64_t>(std::clamp(ms, 0.0, 3.6e6));
}

std::string TimeLeftText(const std::string& time_template, int64_t left_ms) {
  const int64_t left_s = std::max<int64_t>(0, (left_ms + 999) / 1000);
  const std::string time = std::to_string(left_s / 60) + ":" + (left_s % 60 < 10 ? "0" : "") +
                           std::to_string(left_s % 60);
  std::string text = time_template;
  const size_t at = text.find("{time}");
  if (at != std::string::npos) text.replace(at, 6, time);
  return text;
}

std::string EventLine(const Json& event) {
  return event.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json AnswerEvent(const std::string& id, const char* answer) {
  return Json{{"ev", "answer"}, {"id", id}, {"answer", answer}};
}

Json ClipboardEvent(const std::string& text, bool copied) {
  if (text.size() > kMaxClipboard)
    return Json{{"ev", "clipboard"}, {"text", ""}, {"copied", copied}, {"tooLong", true}};
  return Json{{"ev", "clipboard"}, {"text", text}, {"copied", copied}};
}

Json GeometryEvent(const int (*rects)[4], int count, bool focused) {
  Json list = Json::array();
  for (int i = 0; i < count; i++)
    list.push_back({rects[i][0], rects[i][1], rects[i][2], rects[i][3]});
  return Json{{"ev", "geometry"}, {"rects", list}, {"focused", focused}};
}

}  // namespace tether_window
