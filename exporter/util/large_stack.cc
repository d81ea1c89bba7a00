#include "util/large_stack.h"

#include <pthread.h>

#include <cstring>
#include <exception>
#include <string>

namespace ief {
namespace {

struct Job {
  const std::function<void()>* work;
  std::exception_ptr failure;
};

void* RunJob(void* argument) {
  Job* job = static_cast<Job*>(argument);
  try {
    (*job->work)();
  } catch (...) {
    job->failure = std::current_exception();
  }
  return nullptr;
}

}  // namespace

Status RunWithStack(size_t stack_bytes, const std::function<void()>& work) {
  Job job{&work, nullptr};
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  int error = pthread_attr_setstacksize(&attributes, stack_bytes);
  pthread_t thread;
  if (error == 0) error = pthread_create(&thread, &attributes, RunJob, &job);
  pthread_attr_destroy(&attributes);
  if (error != 0) return Error(ErrorKind::kIo, std::string("cannot start a thread: ") + std::strerror(error));
  pthread_join(thread, nullptr);
  if (job.failure) std::rethrow_exception(job.failure);
  return Status::Ok();
}

}  // namespace ief
