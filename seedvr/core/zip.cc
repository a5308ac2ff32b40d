#include "seedvr/core/zip.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace seedvr::core {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr uint64_t kAlign = 64;

uint64_t Le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

absl::Status Corrupt(const std::string& path, const std::string& what) {
  return absl::DataLossError(absl::StrCat(path, " is not a valid zip archive: ", what));
}

}  // namespace

uint32_t Crc32(const void* data, uint64_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (uint64_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

absl::StatusOr<ZipReader> ZipReader::Open(std::shared_ptr<MappedFile> file) {
  const std::string& path = file->path();
  const uint8_t* d = file->data();
  const uint64_t n = file->size();
  if (n < 22) return Corrupt(path, "file too small");
  // The end record sits in the last 64 KiB + 22 bytes (its comment is <64 KiB).
  uint64_t lowest = n > 65557 ? n - 65557 : 0;
  uint64_t end = UINT64_MAX;
  for (uint64_t i = n - 22 + 1; i-- > lowest;) {
    if (Le(d + i, 4) == kEndSig) {
      end = i;
      break;
    }
  }
  if (end == UINT64_MAX) return Corrupt(path, "no end-of-central-directory record");
  uint64_t count = Le(d + end + 10, 2);
  uint64_t cd_size = Le(d + end + 12, 4);
  uint64_t cd_offset = Le(d + end + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (end < 20 || Le(d + end - 20, 4) != kEnd64LocatorSig) {
      return Corrupt(path, "missing zip64 locator");
    }
    uint64_t e64 = Le(d + end - 20 + 8, 8);
    if (e64 > n || n - e64 < 56 || Le(d + e64, 4) != kEnd64Sig) {
      return Corrupt(path, "bad zip64 end record");
    }
    count = Le(d + e64 + 32, 8);
    cd_size = Le(d + e64 + 40, 8);
    cd_offset = Le(d + e64 + 48, 8);
  }
  if (cd_offset > n || cd_size > n - cd_offset) return Corrupt(path, "central directory out of bounds");
  // Each central record takes at least 46 bytes: bounds the count.
  if (count > cd_size / 46) return Corrupt(path, "entry count exceeds central directory");

  ZipReader reader;
  reader.file_ = file;
  uint64_t p = cd_offset;
  const uint64_t cd_end = cd_offset + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (cd_end - p < 46 || Le(d + p, 4) != kCentralSig) return Corrupt(path, "bad central record");
    uint64_t method = Le(d + p + 10, 2);
    uint64_t csize = Le(d + p + 20, 4);
    uint64_t usize = Le(d + p + 24, 4);
    uint64_t name_len = Le(d + p + 28, 2);
    uint64_t extra_len = Le(d + p + 30, 2);
    uint64_t comment_len = Le(d + p + 32, 2);
    uint64_t local = Le(d + p + 42, 4);
    if (cd_end - p - 46 < name_len + extra_len + comment_len) return Corrupt(path, "central record overruns");
    std::string name(reinterpret_cast<const char*>(d + p + 46), name_len);
    // ZIP64 extra field: the 0xFFFFFFFF fields, in order usize, csize, offset.
    const uint8_t* x = d + p + 46 + name_len;
    const uint8_t* xend = x + extra_len;
    while (xend - x >= 4) {
      uint64_t id = Le(x, 2), len = Le(x + 2, 2);
      if (static_cast<uint64_t>(xend - x - 4) < len) return Corrupt(path, "bad extra field in " + name);
      if (id == 1) {
        const uint8_t* q = x + 4;
        uint64_t left = len;
        auto take = [&](uint64_t& field) {
          if (field == 0xFFFFFFFF && left >= 8) {
            field = Le(q, 8);
            q += 8;
            left -= 8;
          }
        };
        take(usize);
        take(csize);
        take(local);
      }
      x += 4 + len;
    }
    if (method != 0) {
      return absl::UnimplementedError(absl::StrCat(path, ": entry ", name,
                                                   " is compressed (method ", method,
                                                   "); only stored entries are supported"));
    }
    if (csize != usize) return Corrupt(path, "stored entry with differing sizes: " + name);
    if (local > n || n - local < 30 || Le(d + local, 4) != kLocalSig) {
      return Corrupt(path, "bad local header for " + name);
    }
    uint64_t data = local + 30 + Le(d + local + 26, 2) + Le(d + local + 28, 2);
    if (data > n || usize > n - data) return Corrupt(path, "entry data out of bounds: " + name);
    // Of two entries of one name the first counts, as in torch.load.
    reader.entries_.emplace(name, Entry{data, usize});
    if (i == 0) reader.first_name_ = name;
    p += 46 + name_len + extra_len + comment_len;
  }
  return reader;
}

absl::StatusOr<ZipReader::Entry> ZipReader::Find(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat(file_->path(), ": no entry '", name, "' in archive"));
  }
  return it->second;
}

namespace {

void Put(std::string& s, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

void ZipWriter::Add(const std::string& name, const void* data, uint64_t size) {
  const uint64_t header_offset = out_->offset();
  const uint32_t crc = Crc32(data, size);
  // Local header, always with a ZIP64 extra field (sizes), then padding in a
  // private extra field so that the data starts on a 64-byte boundary.
  std::string h;
  Put(h, kLocalSig, 4);
  Put(h, 45, 2);  // version needed: zip64
  Put(h, 0, 2);   // flags
  Put(h, 0, 2);   // stored
  Put(h, 0, 4);   // time, date
  Put(h, crc, 4);
  Put(h, 0xFFFFFFFF, 4);
  Put(h, 0xFFFFFFFF, 4);
  const uint64_t fixed = 30 + name.size() + 20;
  uint64_t pad = (kAlign - (header_offset + fixed + 4) % kAlign) % kAlign;
  Put(h, name.size(), 2);
  Put(h, 20 + 4 + pad, 2);
  h += name;
  Put(h, 1, 2);
  Put(h, 16, 2);
  Put(h, size, 8);
  Put(h, size, 8);
  Put(h, 0x5346, 2);  // padding field ("FS")
  Put(h, pad, 2);
  h.append(pad, 'Z');
  out_->Write(h.data(), h.size());
  out_->Write(data, size);
  written_.push_back({name, header_offset, size, crc});
}

void ZipWriter::Finish() {
  const uint64_t cd_offset = out_->offset();
  std::string cd;
  for (const Written& w : written_) {
    Put(cd, kCentralSig, 4);
    Put(cd, 45, 2);  // made by
    Put(cd, 45, 2);  // needed
    Put(cd, 0, 2);
    Put(cd, 0, 2);
    Put(cd, 0, 4);
    Put(cd, w.crc, 4);
    Put(cd, 0xFFFFFFFF, 4);
    Put(cd, 0xFFFFFFFF, 4);
    Put(cd, w.name.size(), 2);
    Put(cd, 28, 2);  // extra: zip64 usize, csize, offset
    Put(cd, 0, 2);   // comment
    Put(cd, 0, 2);   // disk
    Put(cd, 0, 2);   // internal attributes
    Put(cd, 0, 4);   // external attributes
    Put(cd, 0xFFFFFFFF, 4);
    cd += w.name;
    Put(cd, 1, 2);
    Put(cd, 24, 2);
    Put(cd, w.size, 8);
    Put(cd, w.size, 8);
    Put(cd, w.header_offset, 8);
  }
  const uint64_t cd_size = cd.size();
  const uint64_t end64 = cd_offset + cd_size;
  Put(cd, kEnd64Sig, 4);
  Put(cd, 44, 8);
  Put(cd, 45, 2);
  Put(cd, 45, 2);
  Put(cd, 0, 4);
  Put(cd, 0, 4);
  Put(cd, written_.size(), 8);
  Put(cd, written_.size(), 8);
  Put(cd, cd_size, 8);
  Put(cd, cd_offset, 8);
  Put(cd, kEnd64LocatorSig, 4);
  Put(cd, 0, 4);
  Put(cd, end64, 8);
  Put(cd, 1, 4);
  Put(cd, kEndSig, 4);
  Put(cd, 0, 2);
  Put(cd, 0, 2);
  Put(cd, 0xFFFF, 2);
  Put(cd, 0xFFFF, 2);
  Put(cd, 0xFFFFFFFF, 4);
  Put(cd, 0xFFFFFFFF, 4);
  Put(cd, 0, 2);
  out_->Write(cd.data(), cd.size());
}

}  // namespace seedvr::core
