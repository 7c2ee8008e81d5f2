#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace glmv {

namespace {

// The first index of the largest logit. Two passes the compiler vectorises (a max reduction, then a compare scan)
// instead of std::max_element's branch per element: at the 9B's 151552 logits that is one core's work per token
// while every other thread waits.
int64_t first_argmax(const std::vector<float>& logits) {
    const float* l  = logits.data();
    const size_t V  = logits.size();
    float        mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
    for (size_t i = 0; i < V; ++i)
        mx = l[i] > mx ? l[i] : mx;
    for (size_t i = 0; i < V; ++i)
        if (l[i] == mx) return int64_t(i);
    return int64_t(std::max_element(logits.begin(), logits.end()) - logits.begin()); // all NaN or -inf
}

} // namespace

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
    const int64_t best = first_argmax(logits);
    if (p_.greedy || p_.temperature <= 0.f) return best;

    for (float& s : logits) s /= p_.temperature;
    const float   mx     = logits[size_t(best)];
    const bool    top_k  = p_.top_k > 0 && p_.top_k < V;
    const bool    top_p  = p_.top_p < 1.0f;
    const int64_t k      = top_k ? p_.top_k : V;
    auto          weight = [&](int64_t i) { return std::exp(double(logits[size_t(i)] - mx)); };

    // Top-p alone normalises by the whole vocabulary's mass, and without top-k or top-p every token takes part:
    // exp(logit - best) of each token once, read again below.
    double all_mass = 0;
    if (!top_k) {
        weight_.resize(size_t(V));
        for (int64_t i = 0; i < V; ++i)
            all_mass += weight_[size_t(i)] = weight(i);
    }
    if (!top_k && !top_p) {
        // The whole vocabulary: any order draws from the same distribution, so nothing is ranked (a full sort of
        // the 9B's 151552 logits took longer than its decode step's matrix products on some machines).
        double r = std::uniform_real_distribution<double>(0.0, all_mass)(rng_);
        for (int64_t i = 0; i < V; ++i)
            if ((r -= weight_[size_t(i)]) <= 0) return i;
        return best;
    }
    auto candidate_weight = [&](int64_t i) { return top_k ? weight(i) : weight_[size_t(i)]; };

    // Only a prefix of the ranking matters: the k best (top-k), or the best tokens holding top_p of the mass
    // (top-p alone). Candidates are the tokens within `margin` of the best logit, the margin doubling until they
    // are enough; every other token ranks below every candidate, so ranking the candidates alone is exact.
    for (float margin = 8.f;; margin *= 2) {
        order_.clear();
        for (int64_t i = 0; i < V; ++i)
            if (logits[size_t(i)] >= mx - margin) order_.push_back(int(i));
        if (int64_t(order_.size()) == V || !std::isfinite(margin)) break;
        if (top_k) {
            if (int64_t(order_.size()) >= k) break;
            continue;
        }
        double mass = 0;
        for (int i : order_)
            mass += weight_[size_t(i)];
        if (mass >= double(p_.top_p) * all_mass) break;
    }
    // Descending logits, ties by id, so that a seed gives the same tokens on every run. Ranked in stages (the best
    // 256, then four times as many, ...) so that top-p over a peaked distribution sorts a few hundred tokens.
    auto ranks_before = [&](int a, int b) {
        return logits[size_t(a)] != logits[size_t(b)] ? logits[size_t(a)] > logits[size_t(b)] : a < b;
    };
    const int64_t n_candidates = int64_t(order_.size());
    int64_t       ranked       = 0; // order_[0, ranked) is in order
    double        ranked_mass  = 0; // their weights' sum (top-p alone)
    auto          rank_up_to   = [&](int64_t upto) {
        upto = std::min(upto, n_candidates);
        if (upto < n_candidates)
            std::nth_element(order_.begin() + ranked, order_.begin() + upto, order_.end(), ranks_before);
        std::sort(order_.begin() + ranked, order_.begin() + upto, ranks_before);
        if (!top_k)
            for (int64_t i = ranked; i < upto; ++i)
                ranked_mass += weight_[size_t(order_[size_t(i)])];
        ranked = upto;
    };
    if (top_k)
        rank_up_to(k);
    else
        for (int64_t stage = 256; ranked < n_candidates && ranked_mass < double(p_.top_p) * all_mass; stage *= 4)
            rank_up_to(stage);
    int64_t keep = ranked;

    // Softmax over the kept candidates (top-k), or over the whole vocabulary (top-p alone).
    std::vector<double> prob(static_cast<size_t>(keep));
    double              norm = 0;
    for (int64_t i = 0; i < keep; ++i)
        norm += prob[size_t(i)] = candidate_weight(order_[size_t(i)]);
    if (!top_k) norm = all_mass;
    for (double& p : prob)
        p /= norm;
    if (top_p) {
        // Keep a token while the mass ranked above it is below top_p (HF's TopPLogitsWarper, ≥ 1 token kept).
        double  above = 0;
        int64_t n     = 0;
        while (n < keep && (n == 0 || above < p_.top_p)) above += prob[size_t(n++)];
        keep = n;
    }
    double total = 0;
    for (int64_t i = 0; i < keep; ++i) total += prob[size_t(i)];
    double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
    for (int64_t i = 0; i < keep; ++i)
        if ((r -= prob[size_t(i)]) <= 0) return order_[size_t(i)];
    return order_[size_t(keep - 1)];
}

} // namespace glmv
