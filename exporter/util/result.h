// Result<T, E>: a value or an error, used instead of exceptions across module lines (the LevelDB Status idea,
// shaped like std::expected). An error carries a kind that callers switch on and a message for people; nothing
// classifies a failure by parsing its message.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ief {

enum class ErrorKind {
  kInvalidArgument,  // bad input from an operator or a caller: a config, a flag, an id
  kIo,               // a local file could not be read
  kNotFound,         // what was asked for does not exist (HTTP 404)
  kHttpStatus,       // an HTTP answer other than 2xx and 404 (the status travels beside the error)
  kTransport,        // no usable HTTP answer: connect failure, timeout, TLS, a body over its cap or budget
  kParse,            // an answer that could not be understood, or that answers another question
  kAuthRejected,     // the identity service refused the credentials
  kAuthUnavailable,  // no credentials could be produced locally; nothing was sent
  kCancelled,        // stopped by shutdown or reload
};

// "invalid_argument", "not_found", ...: for logs.
std::string_view ErrorKindName(ErrorKind kind);

struct Error {
  Error(ErrorKind error_kind, std::string text) : kind(error_kind), message(std::move(text)) {}
  ErrorKind kind;
  std::string message;  // for people; never holds a secret
};

template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  const E& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, E> state_;
};

// Result<void>: ok, or an error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace ief
