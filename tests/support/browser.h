// Headless Chromium (Debian's `chromium` package) for tests that look at a page the way a person's browser shows
// it: the DOM after parsing and the pixels. Each call starts a fresh browser with a new empty profile, is killed
// (with everything it started) when it outlives its deadline, and talks to nobody but the URL it is given.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ief::testing {

class HeadlessChromium {
 public:
  explicit HeadlessChromium(std::chrono::seconds deadline = std::chrono::seconds(60));
  ~HeadlessChromium();  // removes the profile folder
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  // The document after loading `url` (Chromium's --dump-dom); nullopt when Chromium failed or ran out of time.
  // Basic auth goes in the URL: http://user:password@127.0.0.1:PORT/.
  std::optional<std::string> DumpDom(const std::string& url);
  // A PNG of `url` in a window of width x height pixels at `png_path`; false when Chromium failed.
  bool Screenshot(const std::string& url, const std::string& png_path, int width, int height);

  // What Chromium logged during the last call (for a failing test's message).
  const std::string& log() const { return log_; }
  // The flags every call starts Chromium with (the profile folder aside).
  static std::vector<std::string> BaseFlags();

 private:
  // Runs Chromium with `flags` + `url`; returns its stdout, or nullopt when it failed or timed out.
  std::optional<std::string> Run(std::vector<std::string> flags, const std::string& url);

  std::chrono::seconds deadline_;
  std::string profile_dir_;
  std::string log_;
};

}  // namespace ief::testing
