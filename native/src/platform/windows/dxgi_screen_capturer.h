// DXGI Desktop Duplication (Windows 8+): the compositor hands each output's new desktop image with
// the rectangles that changed (dirty rects) and moved (move rects). Start() fails with kNoExtension
// when no output can be duplicated (Wine, some virtual machines, remote sessions, a rotated
// output), so that FallbackScreenCapturer switches to GDI.
//
// Not run by the tests (Wine implements no DuplicateOutput): see native/INTEGRATION.md.
#pragma once

#include <d3d11.h>
#include <dxgi1_2.h>
#include <wrl/client.h>

#include <memory>
#include <string>
#include <vector>

#include "platform/windows/cursor_reader.h"
#include "tether/damage_history.h"
#include "tether/frame_pool.h"
#include "tether/reopen_policy.h"
#include "tether/screen_capturer.h"

namespace tether {

class DxgiScreenCapturer final : public ScreenCapturer {
 public:
  explicit DxgiScreenCapturer(CapturerOptions options);
  ~DxgiScreenCapturer() override;

  // Errors: kNoExtension (no output can be duplicated: use GDI), kBadArgument (unknown monitor).
  Status Start() override;
  // Per call: every duplicated output's next frame without waiting. DXGI_ERROR_ACCESS_LOST (desktop
  // switch, UAC prompt, mode change, full-screen application) re-creates the duplications; while
  // that fails (the secure desktop) the answer is kErrorTemporary, and later calls try again after
  // a back-off (ReopenPolicy), answering kErrorTemporary until then.
  CaptureResult CaptureFrame(Frame* frame, Status* error) override;
  Status CaptureCursor(CursorState* cursor) override;
  Status GetMonitors(std::vector<Monitor>* monitors) override;
  Status SelectMonitor(const std::string& name) override;
  Rect capture_area() const override { return area_; }
  bool damage_tracking() const override { return true; }
  void Close() override;

 private:
  template <typename T>
  using ComPtr = Microsoft::WRL::ComPtr<T>;

  // One duplicated output. `staging` (CPU-readable) holds the output's whole latest image: each
  // frame's changed rectangles are copied into it on the GPU, and rows are read from it.
  struct Output {
    std::string name;
    Rect bounds;  // screen coordinates
    ComPtr<ID3D11Device> device;
    ComPtr<ID3D11DeviceContext> context;
    ComPtr<IDXGIOutputDuplication> duplication;
    ComPtr<ID3D11Texture2D> staging;
  };

  // Duplicates every output that intersects area_. kNoExtension when none can be.
  Status OpenOutputs();
  // Takes `out`'s next frame, if any: copies what changed into its staging texture and adds the
  // changed rectangles (frame coordinates) to `damage`. Returns the DXGI result.
  HRESULT TakeFrame(Output* out, std::vector<Rect>* damage);
  // Copies rows [begin, end) of the area from the outputs' staging textures into `dst`.
  bool ReadRows(uint8_t* dst, int32_t begin, int32_t end);
  Status ResetBuffers();

  CapturerOptions options_;
  bool started_ = false;
  bool closed_ = false;
  ReopenPolicy reopen_;  // when lost duplications are re-created (tether/reopen_policy.h)
  std::string monitor_;
  Rect area_;
  std::vector<Output> outputs_;
  std::vector<uint8_t> metadata_;  // move and dirty rectangles, reused
  std::shared_ptr<FramePool> pool_;
  DamageHistory history_;
  bool force_full_ = true;
  uint64_t sequence_ = 0;
  CursorReader cursor_;
};

}  // namespace tether
