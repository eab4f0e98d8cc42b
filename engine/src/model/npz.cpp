#include "npz.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "lmwb/model_error.h"

namespace lmwb {

namespace {

struct Mapped {
    const unsigned char* data = nullptr;
    std::size_t size = 0;
    ~Mapped() {
        if (data) munmap(const_cast<unsigned char*>(data), size);
    }
};

std::uint64_t le(const unsigned char* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

struct Entry {
    std::string name;
    int method = 0;
    std::uint64_t compressed = 0, size = 0, offset = 0;
};

// The central directory, zip64 sizes and offsets included (numpy writes every entry with force_zip64).
std::vector<Entry> central_directory(const Mapped& m, const std::string& path) {
    auto bad = [&](const std::string& why) -> std::vector<Entry> { throw ModelError(path + ": not a readable .npz (zip): " + why); };
    if (m.size < 22) return bad("too short");
    std::size_t eocd = std::string::npos;
    for (std::size_t i = m.size - 22 + 1; i-- > 0 && m.size - i <= 65557;)
        if (le(m.data + i, 4) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == std::string::npos) return bad("no end of central directory");
    std::uint64_t count = le(m.data + eocd + 10, 2), cd_size = le(m.data + eocd + 12, 4), cd_offset = le(m.data + eocd + 16, 4);
    if ((count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) && eocd >= 20 && le(m.data + eocd - 20, 4) == 0x07064b50) {
        const std::uint64_t z = le(m.data + eocd - 20 + 8, 8);
        if (z + 56 > m.size || le(m.data + z, 4) != 0x06064b50) return bad("a broken zip64 end record");
        count = le(m.data + z + 32, 8);
        cd_size = le(m.data + z + 40, 8);
        cd_offset = le(m.data + z + 48, 8);
    }
    if (cd_offset > m.size || cd_size > m.size - cd_offset) return bad("the central directory lies outside the file");
    std::vector<Entry> out;
    std::uint64_t at = cd_offset;
    for (std::uint64_t k = 0; k < count; ++k) {
        if (at + 46 > cd_offset + cd_size || le(m.data + at, 4) != 0x02014b50) return bad("a broken central directory entry");
        const unsigned char* h = m.data + at;
        Entry e;
        e.method = static_cast<int>(le(h + 10, 2));
        e.compressed = le(h + 20, 4);
        e.size = le(h + 24, 4);
        e.offset = le(h + 42, 4);
        const std::uint64_t name_len = le(h + 28, 2), extra_len = le(h + 30, 2), comment_len = le(h + 32, 2);
        if (at + 46 + name_len + extra_len + comment_len > cd_offset + cd_size) return bad("a broken central directory entry");
        e.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
        // The zip64 extra field holds, in order, each of the three that reads 0xFFFFFFFF.
        for (const unsigned char *x = h + 46 + name_len, *end = x + extra_len; x + 4 <= end;) {
            const auto id = le(x, 2), len = le(x + 2, 2);
            if (x + 4 + len > end) break;
            if (id == 0x0001) {
                const unsigned char* v = x + 4;
                for (auto* field : {&e.size, &e.compressed, &e.offset})
                    if (*field == 0xFFFFFFFF && v + 8 <= x + 4 + len) *field = le(v, 8), v += 8;
            }
            x += 4 + len;
        }
        out.push_back(std::move(e));
        at += 46 + name_len + extra_len + comment_len;
    }
    return out;
}

std::vector<unsigned char> entry_bytes(const Mapped& m, const Entry& e, const std::string& where) {
    if (e.offset + 30 > m.size || le(m.data + e.offset, 4) != 0x04034b50) throw ModelError(where + ": a broken local header");
    const std::uint64_t start = e.offset + 30 + le(m.data + e.offset + 26, 2) + le(m.data + e.offset + 28, 2);
    if (start > m.size || e.compressed > m.size - start) throw ModelError(where + ": its data lie outside the file");
    const unsigned char* src = m.data + start;
    if (e.method == 0) {
        if (e.compressed != e.size) throw ModelError(where + ": a stored entry whose sizes differ");
        return {src, src + e.size};
    }
    if (e.method != 8) throw ModelError(where + ": compression method " + std::to_string(e.method) + " (only stored and deflate are read)");
    // Deflate expands at most 1032:1: a larger declared size is damage, refused before it is allocated.
    if (e.size / 1032 > e.compressed + 1) throw ModelError(where + ": it declares more data than its deflated bytes can hold");
    std::vector<unsigned char> out(e.size);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw ModelError(where + ": zlib cannot start");
    std::uint64_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {  // in chunks: z_stream counts in 32-bit unsigned
        const auto in_chunk = static_cast<uInt>(std::min<std::uint64_t>(e.compressed - in_done, 1u << 30));
        const auto out_chunk = static_cast<uInt>(std::min<std::uint64_t>(e.size - out_done, 1u << 30));
        z.next_in = const_cast<unsigned char*>(src + in_done);
        z.avail_in = in_chunk;
        z.next_out = out.data() + out_done;
        z.avail_out = out_chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        in_done += in_chunk - z.avail_in;
        out_done += out_chunk - z.avail_out;
        if (rc == Z_OK && z.avail_in == in_chunk && z.avail_out == out_chunk) rc = Z_DATA_ERROR;  // no progress
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out_done != e.size) throw ModelError(where + ": the deflated data are damaged");
    return out;
}

// A .npy array: the header's descr, fortran_order and shape, then the data.
NpyArray parse_npy(const std::vector<unsigned char>& b, const std::string& where) {
    if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) throw ModelError(where + ": not a .npy array");
    const int major = b[6];
    const std::size_t len_bytes = major == 1 ? 2 : 4, header_start = 8 + len_bytes;
    if (b.size() < header_start) throw ModelError(where + ": a truncated .npy header");
    const std::size_t header_len = le(b.data() + 8, static_cast<int>(len_bytes));
    if (header_start + header_len > b.size()) throw ModelError(where + ": a truncated .npy header");
    const std::string h(reinterpret_cast<const char*>(b.data() + header_start), header_len);
    // The first character of a key's value: always inside the header, or a ModelError naming the key.
    auto value_after = [&](const std::string& key) {
        const auto k = h.find("'" + key + "'");
        if (k == std::string::npos) throw ModelError(where + ": the .npy header has no '" + key + "'");
        auto v = h.find(':', k);
        if (v == std::string::npos) throw ModelError(where + ": the .npy header's '" + key + "' has no value");
        while (v + 1 < h.size() && h[v + 1] == ' ') ++v;
        if (v + 1 >= h.size()) throw ModelError(where + ": the .npy header's '" + key + "' has no value");
        return v + 1;
    };
    const std::size_t d = value_after("descr");
    const char quote = h[d];
    const std::size_t end_quote = quote == '\'' || quote == '"' ? h.find(quote, d + 1) : std::string::npos;
    if (end_quote == std::string::npos) throw ModelError(where + ": the .npy header's descr is not a quoted string");
    const std::string descr = h.substr(d + 1, end_quote - d - 1);
    const bool fortran = h.compare(value_after("fortran_order"), 4, "True") == 0;
    NpyArray a;
    const std::size_t s = value_after("shape");
    const std::size_t close = h.find(')', s);
    if (h[s] != '(' || close == std::string::npos) throw ModelError(where + ": the .npy header's shape is not a tuple");
    std::int64_t count = 1;
    for (std::size_t i = s + 1; i < close;) {
        while (i < close && (h[i] == ' ' || h[i] == ',')) ++i;
        if (i >= close) break;
        std::int64_t v = 0;
        std::size_t digits = 0;
        while (i < close && h[i] >= '0' && h[i] <= '9' && digits < 15) v = v * 10 + (h[i++] - '0'), ++digits;
        if (digits == 0) throw ModelError(where + ": the .npy header's shape is not a tuple of integers");
        a.shape.push_back(v);
        if (v != 0 && count > (std::int64_t{1} << 40) / v) throw ModelError(where + ": an array too large");
        count *= v;
    }
    const int width = descr == "<f4" ? 4 : descr == "<f8" ? 8 : descr == "<f2" ? 2 : 0;
    if (!width) throw ModelError(where + ": dtype '" + descr + "' (float arrays are read: <f2, <f4, <f8)");
    const std::size_t data_start = header_start + header_len;
    if (b.size() - data_start < static_cast<std::size_t>(count) * static_cast<std::size_t>(width))
        throw ModelError(where + ": the array's data are truncated");
    a.data.resize(static_cast<std::size_t>(count));
    const unsigned char* p = b.data() + data_start;
    for (std::int64_t i = 0; i < count; ++i) {
        if (width == 4) {
            std::memcpy(&a.data[static_cast<std::size_t>(i)], p + 4 * i, 4);
        } else if (width == 8) {
            double v;
            std::memcpy(&v, p + 8 * i, 8);
            a.data[static_cast<std::size_t>(i)] = static_cast<float>(v);
        } else {  // IEEE half
            const auto bits = static_cast<std::uint32_t>(le(p + 2 * i, 2));
            const std::uint32_t sign = (bits & 0x8000u) << 16, exp = (bits >> 10) & 0x1f, man = bits & 0x3ff;
            float v;
            if (exp == 0) v = std::ldexp(static_cast<float>(man), -24);
            else if (exp == 31) v = man ? NAN : INFINITY;
            else v = std::ldexp(static_cast<float>(man | 0x400), static_cast<int>(exp) - 25);
            a.data[static_cast<std::size_t>(i)] = sign ? -v : v;
        }
    }
    if (fortran && a.shape.size() == 2) {  // to C order
        const auto r = a.shape[0], c = a.shape[1];
        std::vector<float> t(a.data.size());
        for (std::int64_t i = 0; i < r; ++i)
            for (std::int64_t j = 0; j < c; ++j) t[static_cast<std::size_t>(i * c + j)] = a.data[static_cast<std::size_t>(j * r + i)];
        a.data.swap(t);
    } else if (fortran && a.shape.size() > 2) {
        throw ModelError(where + ": a Fortran-ordered array of more than two dimensions");
    }
    return a;
}

}  // namespace

std::map<std::string, NpyArray> read_npz(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ModelError(path + ": cannot be read");
    struct stat st {};
    Mapped m;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void* p = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) m.data = static_cast<const unsigned char*>(p), m.size = static_cast<std::size_t>(st.st_size);
    }
    ::close(fd);
    if (!m.data) throw ModelError(path + ": cannot be read (empty, or not a regular file)");
    std::map<std::string, NpyArray> out;
    for (const Entry& e : central_directory(m, path)) {
        std::string name = e.name;
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
        const std::string where = path + ": " + e.name;
        out[name] = parse_npy(entry_bytes(m, e, where), where);
    }
    return out;
}

}  // namespace lmwb
