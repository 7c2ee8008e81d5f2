#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace glmv {

int64_t Sampler::sample(std::vector<float>& logits, const std::vector<int64_t>& history) {
    const int64_t V = int64_t(logits.size());
    if (p_.repetition_penalty != 1.0f) {
        // Each distinct id once: HF gathers the scores of the ids present, then scatters the penalised values.
        std::vector<char> seen(size_t(V), 0);
        for (int64_t id : history) {
            if (id < 0 || id >= V || seen[size_t(id)]) continue;
            seen[size_t(id)] = 1;
            float& s         = logits[size_t(id)];
            s                = s < 0 ? s * p_.repetition_penalty : s / p_.repetition_penalty;
        }
    }
    if (p_.greedy || p_.temperature <= 0.f) return int64_t(std::max_element(logits.begin(), logits.end()) - logits.begin());

    for (float& s : logits) s /= p_.temperature;
    order_.resize(size_t(V));
    std::iota(order_.begin(), order_.end(), 0);
    int64_t keep = V;
    if (p_.top_k > 0 && p_.top_k < V) {
        keep = p_.top_k;
        std::partial_sort(order_.begin(), order_.begin() + keep, order_.end(),
                          [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
    } else {
        std::sort(order_.begin(), order_.end(), [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
    }
    // Softmax over the kept candidates (descending).
    const float        mx = logits[size_t(order_[0])];
    std::vector<double> prob(static_cast<size_t>(keep));
    double             sum = 0;
    for (int64_t i = 0; i < keep; ++i) sum += prob[size_t(i)] = std::exp(double(logits[size_t(order_[size_t(i)])] - mx));
    for (double& p : prob) p /= sum;
    if (p_.top_p < 1.0f) {
        // Keep a token while the mass ranked above it is below top_p (HF's TopPLogitsWarper, ≥ 1 token kept).
        double  above = 0;
        int64_t n     = 0;
        while (n < keep && (n == 0 || above < p_.top_p)) above += prob[size_t(n++)];
        keep = n;
    }
    double total = 0;
    for (int64_t i = 0; i < keep; ++i) total += prob[size_t(i)];
    std::uniform_real_distribution<double> uni(0.0, total);
    double                                 r = uni(rng_);
    for (int64_t i = 0; i < keep; ++i) {
        r -= prob[size_t(i)];
        if (r <= 0) return order_[size_t(i)];
    }
    return order_[size_t(keep - 1)];
}

} // namespace glmv
