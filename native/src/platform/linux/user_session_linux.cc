#include "tether/user_session.h"

namespace tether {

Status ReadUiLanguage(std::string* tag) {
  tag->clear();
  return Status(ErrorCode::kUnsupportedPlatform, "on Linux the agent does this itself");
}

Status RestrictToOwner(const std::string&) {
  return Status(ErrorCode::kUnsupportedPlatform, "on Linux the agent does this itself");
}

Status HideOwnConsole(bool* hidden) {
  *hidden = false;
  return Status(ErrorCode::kUnsupportedPlatform, "on Linux the agent does this itself");
}

}  // namespace tether
