// Next-token choice with Hugging Face semantics and order: repetition penalty, then temperature, top-k, top-p.
#pragma once

#include <random>
#include <vector>

#include "glmv/inference/engine.h"

namespace glmv {

class Sampler {
  public:
    explicit Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

    // logits [vocab] are modified in place. `history` = prompt + generated ids (for the repetition penalty).
    int64_t sample(std::vector<float>& logits, const std::vector<int64_t>& history);

  private:
    SamplingParams  p_;
    std::mt19937_64 rng_;
    std::vector<int>    order_;  // candidates, best first
    std::vector<double> weight_; // exp(logit - best) per token, when top-k is off
};

} // namespace glmv
