// Terminal progress of long glmv-cli commands (download, quantize): one bar redrawn in place when stderr is a
// terminal, one line every 2 s when it is a file or a pipe (so logs stay readable).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace glmv::cli {

// 1234567 → "1.2 MB" (decimal units, as the hubs show sizes)
std::string human_bytes(double bytes);

class ProgressBar {
  public:
    ProgressBar();
    // Draws "[####      ]  40% 1.2 GB / 3.0 GB  85.0 MB/s  ETA 21 s  item" unless the last draw was less than
    // 200 ms (terminal) or 2 s (log) ago; `force` draws anyway (the end of a file, the last update).
    void update(uint64_t done, uint64_t total, double bytes_per_s, double eta_s, const std::string& item,
                bool force = false);
    // Ends the bar's line on a terminal.
    void finish();

  private:
    bool                                  tty_;
    bool                                  drawn_ = false;
    std::chrono::steady_clock::time_point last_;
};

} // namespace glmv::cli
