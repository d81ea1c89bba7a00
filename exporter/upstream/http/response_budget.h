// A memory budget for upstream answers in flight, shared by every transport: a hostile or broken upstream that
// streams endless answers to all workers at once can hold at most this much memory, not workers x body cap.
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

namespace ief {

class ResponseBudget;

// Bytes taken from a ResponseBudget, given back when the reservation is destroyed (move-only).
class BudgetReservation {
 public:
  BudgetReservation() = default;
  ~BudgetReservation() { Release(); }
  BudgetReservation(BudgetReservation&& other) noexcept
      : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  BudgetReservation& operator=(BudgetReservation&& other) noexcept;
  BudgetReservation(const BudgetReservation&) = delete;
  BudgetReservation& operator=(const BudgetReservation&) = delete;

  // Grows the reservation to `total` bytes; false (unchanged) when the budget cannot give that much.
  bool GrowTo(ResponseBudget& budget, size_t total);
  // Gives back what exceeds `total` bytes.
  void ShrinkTo(size_t total);
  size_t bytes() const { return bytes_; }

 private:
  void Release();
  ResponseBudget* budget_ = nullptr;
  size_t bytes_ = 0;
};

class ResponseBudget {
 public:
  explicit ResponseBudget(size_t limit_bytes) : limit_(limit_bytes) {}
  size_t limit() const { return limit_; }
  size_t in_use() const { return in_use_.load(); }

 private:
  friend class BudgetReservation;
  bool TryTake(size_t bytes);
  void Give(size_t bytes) { in_use_.fetch_sub(bytes); }

  const size_t limit_;
  std::atomic<size_t> in_use_{0};
};

}  // namespace ief
