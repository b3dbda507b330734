#include "tether/user_session.h"

namespace tether {

Status ReadUiLanguage(std::string* tag) {
  tag->clear();
  return Status(ErrorCode::kUnsupportedPlatform, "not on this platform");
}

Status RestrictToOwner(const std::string&) {
  return Status(ErrorCode::kUnsupportedPlatform, "not on this platform");
}

Status HideOwnConsole(bool* hidden) {
  *hidden = false;
  return Status(ErrorCode::kUnsupportedPlatform, "not on this platform");
}

}  // namespace tether
