// The user's UI language, an owner-only file (a protected DACL with one entry) and the console.
// clang-format off
#include "platform/windows/win_headers.h"  // windows.h, which aclapi.h needs first
#include <aclapi.h>
// clang-format on

#include <memory>
#include <vector>

#include "platform/windows/win_util.h"
#include "tether/user_session.h"

namespace tether {
namespace {

struct LocalFreer {
  void operator()(void* p) const { LocalFree(p); }
};

struct HandleCloser {
  void operator()(HANDLE h) const { CloseHandle(h); }
};

}  // namespace

Status ReadUiLanguage(std::string* tag) {
  tag->clear();
  wchar_t name[LOCALE_NAME_MAX_LENGTH] = {};
  const LANGID lang = GetUserDefaultUILanguage();
  if (LCIDToLocaleName(MAKELCID(lang, SORT_DEFAULT), name, LOCALE_NAME_MAX_LENGTH, 0) == 0) {
    return Status(ErrorCode::kInternal,
                  Win32ErrorText("LCIDToLocaleName(" + std::to_string(lang) + ")", GetLastError()));
  }
  *tag = Utf8FromWide(name);
  return Status::Ok();
}

Status RestrictToOwner(const std::string& path) {
  // The user this process runs as: the token's user SID.
  HANDLE raw = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &raw))
    return Status(ErrorCode::kInternal, Win32ErrorText("OpenProcessToken", GetLastError()));
  std::unique_ptr<void, HandleCloser> token(raw);
  DWORD size = 0;
  GetTokenInformation(raw, TokenUser, nullptr, 0, &size);
  std::vector<unsigned char> user(size ? size : 1);
  if (!GetTokenInformation(raw, TokenUser, user.data(), size, &size))
    return Status(ErrorCode::kInternal, Win32ErrorText("GetTokenInformation", GetLastError()));
  PSID sid = reinterpret_cast<TOKEN_USER*>(user.data())->User.Sid;

  // One entry: that user, full control. Nothing inherited, nothing for anyone else.
  EXPLICIT_ACCESSW access = {};
  access.grfAccessPermissions = FILE_ALL_ACCESS;
  access.grfAccessMode = SET_ACCESS;
  access.grfInheritance = NO_INHERITANCE;
  access.Trustee.TrusteeForm = TRUSTEE_IS_SID;
  access.Trustee.TrusteeType = TRUSTEE_IS_USER;
  access.Trustee.ptstrName = static_cast<LPWSTR>(sid);
  PACL acl_raw = nullptr;
  const DWORD made = SetEntriesInAclW(1, &access, nullptr, &acl_raw);
  if (made != ERROR_SUCCESS)
    return Status(ErrorCode::kInternal, Win32ErrorText("SetEntriesInAcl", made));
  std::unique_ptr<ACL, LocalFreer> acl(acl_raw);
  std::wstring wide = WideFromUtf8(path);
  const DWORD set = SetNamedSecurityInfoW(
      wide.data(), SE_FILE_OBJECT,
      DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION | OWNER_SECURITY_INFORMATION,
      sid, nullptr, acl.get(), nullptr);
  if (set != ERROR_SUCCESS)
    return Status(ErrorCode::kInternal, Win32ErrorText("SetNamedSecurityInfo(" + path + ")", set));
  return Status::Ok();
}

Status HideOwnConsole(bool* hidden) {
  *hidden = false;
  HWND console = GetConsoleWindow();
  DWORD processes[2] = {};
  // 1: this process alone (started from Explorer); more: a command prompt shares it, leave it.
  if (console != nullptr && GetConsoleProcessList(processes, 2) == 1) {
    ShowWindow(console, SW_HIDE);
    *hidden = true;
  }
  return Status::Ok();
}

}  // namespace tether
