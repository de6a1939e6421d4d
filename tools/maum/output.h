// Internal to the CLI: checked standard output, shared by every command. Writes to std::cout and
// C stdio are buffered, so a full disk, /dev/full or a closed pipe shows only when a buffer is
// flushed; these turn that into maum::IoError (one line `maum: error: ...`, exit 1) instead of
// exit 0 with output that was never written.
#pragma once

namespace maum::cli {

// Unsynchronizes iostreams from C stdio and gives std::cout a buffer that keeps the reason
// (errno) of a failed write. main calls it first, before any I/O; commands must not call
// std::ios::sync_with_stdio afterwards (it would put the unchecked buffer back).
void use_checked_stdout();

// Flushes std::cout and stdout; throws IoError("standard output: cannot write: REASON") if any
// write to either has failed so far. Streaming commands call it after each chunk, so that they
// stop at the first failed write instead of computing results nobody receives.
void check_stdout();

// check_stdout(), then closes stdout and checks that too (a close can report a deferred write
// error). main calls it once after a command succeeded; nothing may be written afterwards.
void close_stdout();

}  // namespace maum::cli
