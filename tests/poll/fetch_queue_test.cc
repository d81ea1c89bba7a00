#include "poll/fetch_queue.h"

#include <catch2/catch.hpp>

namespace {

using Key = ief::FetchQueue::Key;
using ief::FetchReason;

ief::SteadyTime At(int seconds) { return ief::SteadyTime(std::chrono::seconds(seconds)); }

std::vector<std::string> Drain(ief::FetchQueue& queue) {
  std::vector<std::string> order;
  while (auto next = queue.Pop([](const Key&, FetchReason) { return true; })) order.push_back(next->first.second);
  return order;
}

}  // namespace

TEST_CASE("the queue serves changed, then new, then the start-up fill (active first), then refreshes oldest first") {
  ief::FetchQueue queue;
  queue.Push({"p", "refresh-new"}, FetchReason::kRefresh, At(50));
  queue.Push({"p", "fill-finished"}, FetchReason::kFillFinished, At(1));
  queue.Push({"p", "fill-active"}, FetchReason::kFillActive, At(5));
  queue.Push({"p", "refresh-old"}, FetchReason::kRefresh, At(10));
  queue.Push({"p", "new"}, FetchReason::kNew, At(2));
  queue.Push({"p", "changed"}, FetchReason::kChanged, At(3));
  CHECK(queue.urgent() == 2);
  CHECK(Drain(queue) ==
        std::vector<std::string>{"changed", "new", "fill-active", "fill-finished", "refresh-old", "refresh-new"});
  CHECK(queue.empty());
  CHECK(queue.urgent() == 0);
}

TEST_CASE("a job is queued once - a more urgent reason moves it up, a less urgent one changes nothing") {
  ief::FetchQueue queue;
  CHECK(queue.Push({"p", "a"}, FetchReason::kRefresh, At(1)));
  CHECK(queue.Push({"p", "b"}, FetchReason::kNew, At(1)));
  CHECK(queue.urgent() == 1);
  CHECK(queue.Push({"p", "a"}, FetchReason::kChanged, At(2)));
  CHECK_FALSE(queue.Push({"p", "b"}, FetchReason::kRefresh, At(3)));
  CHECK(queue.size() == 2);
  CHECK(queue.urgent() == 2);
  CHECK(Drain(queue) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("Pop skips what the caller cannot take now, and Remove forgets a job") {
  ief::FetchQueue queue;
  queue.Push({"p", "background"}, FetchReason::kRefresh, At(1));
  queue.Push({"p", "urgent"}, FetchReason::kChanged, At(1));
  queue.Push({"p", "gone"}, FetchReason::kNew, At(2));
  queue.Remove({"p", "gone"});
  auto urgent_only = [](const Key&, FetchReason reason) { return ief::IsUrgent(reason); };
  auto first = queue.Pop(urgent_only);
  REQUIRE(first);
  CHECK(first->first.second == "urgent");
  CHECK_FALSE(queue.Pop(urgent_only));
  CHECK(queue.size() == 1);
  CHECK(ief::PriorityOf(FetchReason::kFillActive) == ief::RequestPriority::kBackground);
  CHECK(ief::PriorityOf(FetchReason::kNew) == ief::RequestPriority::kUrgent);
}
