// The Windows factories: DXGI Desktop Duplication, falling back to GDI by wrapping; SendInput.
#include <memory>

#include "platform/windows/dxgi_screen_capturer.h"
#include "platform/windows/gdi_screen_capturer.h"
#include "platform/windows/sendinput_injector.h"
#include "tether/fallback_capturer.h"

namespace tether {

std::unique_ptr<ScreenCapturer> CreateScreenCapturer(const CapturerOptions& options) {
  return std::make_unique<FallbackScreenCapturer>(std::make_unique<DxgiScreenCapturer>(options),
                                                  std::make_unique<GdiScreenCapturer>(options));
}

std::unique_ptr<ScreenCapturer> CreateFullFrameCapturer(const CapturerOptions& options) {
  return std::make_unique<GdiScreenCapturer>(options);
}

std::unique_ptr<InputInjector> CreateInputInjector(const InjectorOptions& options) {
  return std::make_unique<SendInputInjector>(options);
}

const char* PlatformBackendName() {
  return "windows";
}

}  // namespace tether
