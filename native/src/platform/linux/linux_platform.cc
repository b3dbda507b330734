// The Linux factories: X11 backends.
#include <memory>

#include "platform/linux/x11_input_injector.h"
#include "platform/linux/x11_screen_capturer.h"
#include "tether/fallback_capturer.h"

namespace tether {

std::unique_ptr<ScreenCapturer> CreateScreenCapturer(const CapturerOptions& options) {
  return std::make_unique<FallbackScreenCapturer>(
      std::make_unique<X11ScreenCapturer>(options, /*use_damage=*/true),
      std::make_unique<X11ScreenCapturer>(options, /*use_damage=*/false));
}

std::unique_ptr<ScreenCapturer> CreateFullFrameCapturer(const CapturerOptions& options) {
  return std::make_unique<X11ScreenCapturer>(options, /*use_damage=*/false);
}

std::unique_ptr<InputInjector> CreateInputInjector(const InjectorOptions& options) {
  return std::make_unique<X11InputInjector>(options);
}

const char* PlatformBackendName() {
  return "x11";
}

}  // namespace tether
