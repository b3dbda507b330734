#include "platform/linux/shm_frame_buffer.h"

#include <sys/ipc.h>
#include <sys/shm.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "platform/linux/x11_connection.h"

namespace tether {

std::shared_ptr<ShmFrameBuffer> ShmFrameBuffer::Create(Display* display, size_t bytes,
                                                       Status* status) {
  std::shared_ptr<ShmFrameBuffer> buffer(new ShmFrameBuffer());
  buffer->bytes_ = bytes;
  buffer->info_.shmid = shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);  // owned from here on
  if (buffer->info_.shmid < 0) {
    *status = Status(ErrorCode::kInternal, std::string("shmget failed: ") + std::strerror(errno));
    return nullptr;
  }
  void* addr = shmat(buffer->info_.shmid, nullptr, 0);  // mapping: undone by ~ShmFrameBuffer
  if (addr == reinterpret_cast<void*>(-1)) {
    shmctl(buffer->info_.shmid, IPC_RMID, nullptr);
    *status = Status(ErrorCode::kInternal, std::string("shmat failed: ") + std::strerror(errno));
    buffer->info_.shmid = -1;
    return nullptr;
  }
  buffer->info_.shmaddr = static_cast<char*>(addr);
  buffer->info_.readOnly = False;
  XErrorTrap trap(display);
  const Bool attached = XShmAttach(display, &buffer->info_);  // server side: DetachFromServer
  const int error = trap.Sync();
  shmctl(buffer->info_.shmid, IPC_RMID, nullptr);  // both mapped: free when both let go
  if (!attached || error != 0) {
    *status = Status(ErrorCode::kNoXShm,
                     "the X server could not attach shared memory (MIT-SHM works only on a local "
                     "display)");
    return nullptr;
  }
  buffer->server_attached_ = true;
  *status = Status::Ok();
  return buffer;
}

void ShmFrameBuffer::DetachFromServer(Display* display) {
  if (!server_attached_) return;
  server_attached_ = false;
  XErrorTrap trap(display);
  XShmDetach(display, &info_);
}

ShmFrameBuffer::~ShmFrameBuffer() {
  if (info_.shmaddr != nullptr) shmdt(info_.shmaddr);
}

}  // namespace tether
