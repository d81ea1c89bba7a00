#include "upstream/http/transport_pool.h"

namespace ief {

TransportPool::Lease TransportPool::Borrow() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<HttpTransport> transport = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(transport));
    }
  }
  return Lease(*this, factory_());
}

size_t TransportPool::idle() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return idle_.size();
}

void TransportPool::Return(std::unique_ptr<HttpTransport> transport) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(transport));
}

}  // namespace ief
