// Memory for large engine buffers (quantised weights, a long prompt's activations): see ops.h, large_block_allocate.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "ops/ops.h"

namespace glmv::ops {

namespace {

constexpr std::size_t kHugePage = std::size_t(2) << 20;
constexpr std::size_t kPage     = 4096;
// Below this a block goes to the heap: huge pages are for the gigabytes decode streams, and small blocks would
// each round up to whole pages.
constexpr std::size_t kLargeBlock = std::size_t(4) << 20;

std::size_t round_up(std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
}

// GLMV_HUGE_PAGES=0 leaves the blocks on 4 KB pages (for measuring what huge pages bring).
bool want_huge_pages() {
    static const bool want = [] {
        const char* env = std::getenv("GLMV_HUGE_PAGES");
        return !env || std::strcmp(env, "0") != 0;
    }();
    return want;
}

// Under AddressSanitizer every block stays on the heap, where the sanitizer checks its bounds.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMapLargeBlocks = false;
#else
constexpr bool kMapLargeBlocks = true;
#endif

} // namespace

void* large_block_allocate(std::size_t bytes) {
    if (!kMapLargeBlocks || bytes < kLargeBlock) return ::operator new(bytes);
    // The mapping is exactly the block's 4 KB pages, starting on a 2 MB boundary: the kernel can back every whole
    // 2 MB of it with a huge page, and the last partial 2 MB stays on small pages, so no memory is touched beyond
    // what the block uses (peak RSS is a target). Map 2 MB more than needed, then give back the ends.
    const std::size_t len = round_up(bytes, kPage);
    void*             raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto begin = reinterpret_cast<std::uintptr_t>(raw);
    const auto start = round_up(begin, kHugePage);
    if (start > begin) munmap(raw, start - begin);
    if (const std::size_t tail = begin + len + kHugePage - (start + len); tail > 0)
        munmap(reinterpret_cast<void*>(start + len), tail);
    if (want_huge_pages()) madvise(reinterpret_cast<void*>(start), len, MADV_HUGEPAGE); // a hint; refusal is fine
    return reinterpret_cast<void*>(start);
}

void large_block_release(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    if (!kMapLargeBlocks || bytes < kLargeBlock) return ::operator delete(p);
    munmap(p, round_up(bytes, kPage));
}

} // namespace glmv::ops
