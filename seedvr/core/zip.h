// The subset of ZIP that PyTorch checkpoints use: stored (uncompressed)
// entries, ZIP64 for large files. Reading views the mapped file; writing
// aligns each entry's data to 64 bytes as PyTorch does, so readers may map it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/core/io.h"

namespace seedvr::core {

class ZipReader {
 public:
  struct Entry {
    uint64_t offset = 0;  // of the data within the file
    uint64_t size = 0;
  };

  // Parses the central directory; every entry is bounds-checked against the
  // file, and compressed entries are refused. Of entries sharing a name the
  // first in the central directory is kept, as PyTorch's reader does.
  static absl::StatusOr<ZipReader> Open(std::shared_ptr<MappedFile> file);

  const std::map<std::string, Entry>& entries() const { return entries_; }
  // Name of the first entry in the central directory ("" when there is none).
  const std::string& first_name() const { return first_name_; }
  // The entry's bytes, or NotFound naming the entry and the file.
  absl::StatusOr<Entry> Find(const std::string& name) const;
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::map<std::string, Entry> entries_;
  std::string first_name_;
};

class ZipWriter {
 public:
  explicit ZipWriter(FileWriter* out) : out_(out) {}
  void Add(const std::string& name, const void* data, uint64_t size);
  // Writes the central directory; call once after the last Add.
  void Finish();

 private:
  struct Written {
    std::string name;
    uint64_t header_offset;
    uint64_t size;
    uint32_t crc;
  };
  FileWriter* out_;
  std::vector<Written> written_;
};

uint32_t Crc32(const void* data, uint64_t size, uint32_t crc = 0);

}  // namespace seedvr::core
