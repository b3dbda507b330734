// Test program: the Windows capturer's portable rules (duplication_rects.h, pointer_shape.h,
// reopen_policy.h) driven on Linux by test/windows-capture-logic.test.ts. One JSON request per line
// on stdin, one JSON answer per line on stdout; rectangles are [x, y, width, height], pixel data
// is hex. A request it cannot read is answered {"error": "..."} and the program goes on.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tether/duplication_rects.h"
#include "tether/pointer_shape.h"
#include "tether/reopen_policy.h"

using nlohmann::json;
using namespace tether;

namespace {

Rect ToRect(const json& j) {
  return Rect{j.at(0).get<int32_t>(), j.at(1).get<int32_t>(), j.at(2).get<int32_t>(),
              j.at(3).get<int32_t>()};
}

json FromRects(const std::vector<Rect>& rects) {
  json out = json::array();
  for (const Rect& r : rects) out.push_back({r.x, r.y, r.width, r.height});
  return out;
}

std::vector<uint8_t> FromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) throw std::runtime_error("odd hex length");
  std::vector<uint8_t> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(std::stoul(hex.substr(i * 2, 2), nullptr, 16));
  }
  return bytes;
}

std::string ToHex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : bytes) {
    hex.push_back(digits[b >> 4]);
    hex.push_back(digits[b & 15]);
  }
  return hex;
}

json Change(const json& req) {
  DuplicatedFrame frame;
  frame.first = req.value("first", false);
  frame.image_updated = req.value("imageUpdated", true);
  for (const json& m : req.value("moves", json::array())) {
    frame.moves.push_back(MoveRect{Point{m.at(0).get<int32_t>(), m.at(1).get<int32_t>()},
                                   ToRect(json{m.at(2), m.at(3), m.at(4), m.at(5)})});
  }
  for (const json& d : req.value("dirty", json::array())) frame.dirty.push_back(ToRect(d));
  const DuplicationChange c =
      ChangeOfFrame(ToRect(req.at("output")), ToRect(req.at("area")), frame);
  return {{"copy", FromRects(c.copy)}, {"damage", FromRects(c.damage)}};
}

json Cap(const json& req) {
  std::vector<Rect> rects;
  for (const json& r : req.at("rects")) rects.push_back(ToRect(r));
  CapRects(&rects, req.at("max").get<size_t>());
  return {{"rects", FromRects(rects)}};
}

json Pointer(const json& req) {
  PointerShapeInfo info;
  info.type = static_cast<PointerShapeType>(req.at("type").get<uint32_t>());
  info.width = req.at("width").get<int32_t>();
  info.height = req.at("height").get<int32_t>();
  info.pitch = req.at("pitch").get<int32_t>();
  info.hot_x = req.value("hotX", 0);
  info.hot_y = req.value("hotY", 0);
  const std::vector<uint8_t> data = FromHex(req.at("data").get<std::string>());
  CursorShape shape;
  if (!ConvertPointerShape(info, data.data(), data.size(), &shape)) return {{"ok", false}};
  return {{"ok", true},          {"width", shape.width}, {"height", shape.height},
          {"hotX", shape.hot_x}, {"hotY", shape.hot_y},  {"pixels", ToHex(shape.pixels)}};
}

const char* ActionName(ReopenPolicy::Action a) {
  switch (a) {
    case ReopenPolicy::Action::kCapture:
      return "capture";
    case ReopenPolicy::Action::kReopen:
      return "reopen";
    case ReopenPolicy::Action::kWait:
      return "wait";
  }
  return "?";
}

ReopenPolicy::Outcome ToOutcome(const std::string& s) {
  if (s == "frame") return ReopenPolicy::Outcome::kFrame;
  if (s == "timeout") return ReopenPolicy::Outcome::kTimeout;
  if (s == "access-lost") return ReopenPolicy::Outcome::kAccessLost;
  if (s == "error") return ReopenPolicy::Outcome::kError;
  throw std::runtime_error("unknown outcome " + s);
}

// Steps on a new policy: ["captured", outcome, t], ["reopened", ok, t] or ["next", t]; after each,
// what Next() answers at that step's time.
json Reopen(const json& req) {
  ReopenPolicy policy;
  json out = json::array();
  for (const json& step : req.at("steps")) {
    const std::string what = step.at(0).get<std::string>();
    int64_t t = 0;
    if (what == "captured") {
      t = step.at(2).get<int64_t>();
      policy.Captured(ToOutcome(step.at(1).get<std::string>()), t);
    } else if (what == "reopened") {
      t = step.at(2).get<int64_t>();
      policy.Reopened(step.at(1).get<bool>(), t);
    } else if (what == "next") {
      t = step.at(1).get<int64_t>();
    } else {
      throw std::runtime_error("unknown step " + what);
    }
    out.push_back({{"action", ActionName(policy.Next(t))},
                   {"failures", policy.failures()},
                   {"retryAt", policy.retry_at_ms()}});
  }
  return {{"after", out}};
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    json answer;
    try {
      const json req = json::parse(line);
      const std::string op = req.at("op").get<std::string>();
      if (op == "change") {
        answer = Change(req);
      } else if (op == "cap") {
        answer = Cap(req);
      } else if (op == "pointer") {
        answer = Pointer(req);
      } else if (op == "reopen") {
        answer = Reopen(req);
      } else if (op == "delays") {
        json d = json::array();
        for (int n = 0; n <= req.at("upTo").get<int>(); ++n) d.push_back(ReopenPolicy::DelayMs(n));
        answer = {{"delays", d}};
      } else {
        answer = {{"error", "unknown op " + op}};
      }
    } catch (const std::exception& e) {
      answer = {{"error", e.what()}};
    }
    std::cout << answer.dump() << std::endl;
  }
  return 0;
}
