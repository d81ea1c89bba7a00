// Clang's thread-safety analysis (-Wthread-safety), with Abseil's names without their prefix (as LevelDB's
// port/thread_annotations.h has them): the compiler checks that every member GUARDED_BY a mutex is touched only
// with it held, and that every function that REQUIRES a lock is called with it. Other compilers see nothing.
// `make check-hardening` builds with clang and -Wthread-safety -Werror.
#pragma once

#if defined(__clang__)
#define IEF_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define IEF_THREAD_ANNOTATION(x)
#endif

// A type that is a lock (Mutex), or an RAII object that holds one for its scope (MutexLock).
#define CAPABILITY(name) IEF_THREAD_ANNOTATION(capability(name))
#define SCOPED_CAPABILITY IEF_THREAD_ANNOTATION(scoped_lockable)
// Data that may be read or written only with the lock held (PT_: the data a pointer points to).
#define GUARDED_BY(lock) IEF_THREAD_ANNOTATION(guarded_by(lock))
#define PT_GUARDED_BY(lock) IEF_THREAD_ANNOTATION(pt_guarded_by(lock))
// Lock order: this lock is taken after (before) the others named.
#define ACQUIRED_AFTER(...) IEF_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) IEF_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
// The caller must hold (must not hold) the locks.
#define REQUIRES(...) IEF_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) IEF_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// The function takes (gives back) the lock, or takes it when it returns `result`.
#define ACQUIRE(...) IEF_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) IEF_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) IEF_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// The lock is held here (checked at run time, if at all, by the function).
#define ASSERT_CAPABILITY(lock) IEF_THREAD_ANNOTATION(assert_capability(lock))
// The function returns a reference to the lock.
#define RETURN_CAPABILITY(lock) IEF_THREAD_ANNOTATION(lock_returned(lock))
// Opts a function out of the analysis: only where the locking is right but beyond what it can follow (say why).
#define NO_THREAD_SAFETY_ANALYSIS IEF_THREAD_ANNOTATION(no_thread_safety_analysis)
