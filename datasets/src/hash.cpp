#include <cstdio>
#include <memory>

#include <openssl/evp.h>

#include "lmwb/suite.h"

namespace lmwb::datasets {

namespace {

struct Sha256 {
    Sha256() : ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
    void update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx.get(), p, n); }
    std::string hex() {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_DigestFinal_ex(ctx.get(), md, &n);
        static const char* digits = "0123456789abcdef";
        std::string out;
        for (unsigned int i = 0; i < n; ++i) out += digits[md[i] >> 4], out += digits[md[i] & 15];
        return out;
    }
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx;
};

}  // namespace

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data.data(), data.size());
    return h.hex();
}

std::string file_sha256(const std::string& path, const std::function<void(std::uint64_t)>& after_chunk) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f) throw SuiteError(path + ": cannot be read");
    Sha256 h;
    std::vector<char> buf(1 << 20);
    std::size_t n;
    std::uint64_t done = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
        h.update(buf.data(), n);
        done += n;
        if (after_chunk) after_chunk(done);
    }
    if (std::ferror(f.get())) throw SuiteError(path + ": read error");
    return h.hex();
}

}  // namespace lmwb::datasets
