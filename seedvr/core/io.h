// File primitives shared by the tensor formats: read-only mappings that
// tensors can view, and atomic writes (temporary file, fsync, rename) so that
// a crash never leaves a half-written checkpoint under the final name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace seedvr::core {

// Every path that enters from a flag, a config or a stored checkpoint passes
// here before it is opened: a FIFO, a device or a directory would block or
// read as garbage, and an oversized file would be read whole into memory.
// Returns the file's size in bytes; `what` names the input in the error
// ("config", "checkpoint", ...). InvalidArgument for a file that is not
// regular or is larger than `max_bytes`, NotFound when it cannot be stat'ed.
absl::StatusOr<uint64_t> CheckInputFile(const std::string& path, absl::string_view what,
                                        uint64_t max_bytes = UINT64_MAX);

// A private, copy-on-write mapping of a whole file. Tensors that view it keep
// a shared_ptr so the mapping lives as long as they do.
class MappedFile {
 public:
  static absl::StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  uint8_t* data_;
  size_t size_;
};

// Sequential writer used by AtomicWrite; errors are sticky and reported once.
class FileWriter {
 public:
  explicit FileWriter(int fd) : fd_(fd) {}
  void Write(const void* data, size_t n);
  void WriteZeros(size_t n);
  uint64_t offset() const { return offset_; }
  const absl::Status& status() const { return status_; }

 private:
  int fd_;
  uint64_t offset_ = 0;
  absl::Status status_;
};

// Runs `body` on a temporary file beside `path`, then fsyncs and renames it
// into place. On any error the temporary file is removed and `path` is left
// as it was.
absl::Status AtomicWrite(const std::string& path,
                         const std::function<absl::Status(FileWriter&)>& body);

}  // namespace seedvr::core
