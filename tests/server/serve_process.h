// Starts `maum serve ... --port 0` for a test, reads the bound port from its stdout, and stops it
// with a signal (or kills it when the test ends).
#pragma once
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/common/cli.h"

namespace maum::testing {

class ServeProcess {
 public:
  // `args`: shell-quoted arguments after `maum serve`; `dir`: where stdout/stderr go.
  ServeProcess(const std::string& args, const std::string& dir, const std::string& tag) {
    out_ = dir + "/serve-" + tag + ".out";
    err_ = dir + "/serve-" + tag + ".err";
    const std::string command = "exec " + shell_quote(cli_path()) + " serve --port 0 " + args +
                                " > " + shell_quote(out_) + " 2> " + shell_quote(err_);
    pid_ = fork();
    if (pid_ == 0) {
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // The URL line comes once every model is loaded and the socket listens.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = read_file(out_);
      const size_t colon = out.rfind(':');
      if (out.find('\n') != std::string::npos && colon != std::string::npos) {
        port_ = std::stoi(out.substr(colon + 1));
        return;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "maum serve exited: " << read_file(err_);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "maum serve did not print its URL within 60 s: " << read_file(err_);
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string err() const { return read_file(err_); }

  // Sends `sig` and waits (at most `seconds`) for the exit: its status, -1 if killed by a signal,
  // -2 if it did not exit in time.
  int stop(int sig = SIGTERM, int seconds = 60) {
    if (pid_ <= 0) return -3;
    kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -2;
  }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Every byte but ASCII letters and digits as %XX (for the web page's #type= hook).
inline std::string percent_encode(const std::string& text) {
  std::string encoded;
  for (unsigned char c : text) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%%%02X", c);
    encoded += std::isalnum(c) ? std::string(1, static_cast<char>(c)) : std::string(hex);
  }
  return encoded;
}

// The shell command that prints the DOM of `url` once headless Debian chromium has run its scripts
// (up to 30 s of virtual time), with a fresh profile in `profile_dir`.
inline std::string chromium_dump_dom(const std::string& url, const std::string& profile_dir) {
  std::filesystem::create_directories(profile_dir);
  return "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync "
         "--disable-dev-shm-usage --user-data-dir=" + shell_quote(profile_dir) +
         " --virtual-time-budget=30000 --dump-dom " + shell_quote(url);
}

}  // namespace maum::testing
