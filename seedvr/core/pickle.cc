#include "seedvr/core/pickle.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/core/dtype_names.h"
#include "seedvr/core/tensor_view.h"

namespace seedvr::core {
namespace {

// An object on the unpickler's stack. Globals, storages and tuples exist only
// while unpickling; they become PyValues (tuples as lists) when stored.
struct Item {
  enum Kind { kValue, kMark, kGlobal, kTuple, kStorage } kind = kValue;
  PyValue value;
  std::string global;                         // "module.name"
  std::shared_ptr<std::vector<Item>> tuple;   // kTuple
  at::Tensor storage;                         // kStorage
};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const StorageLoader& loader, const std::string& where)
      : d_(data), n_(size), loader_(loader), where_(where) {}

  absl::StatusOr<PyValue> Run();

 private:
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(where_, ": pickle at byte ", op_pos_, ": ", what));
  }
  bool Need(size_t k) const { return n_ - p_ >= k; }
  uint64_t Le(size_t k) {
    uint64_t v = 0;
    for (size_t i = 0; i < k; ++i) v |= static_cast<uint64_t>(d_[p_ + i]) << (8 * i);
    p_ += k;
    return v;
  }
  absl::StatusOr<std::string> Bytes(size_t k) {
    if (!Need(k)) return Error("string runs past the end");
    std::string s(reinterpret_cast<const char*>(d_ + p_), k);
    p_ += k;
    return s;
  }
  absl::StatusOr<std::string> Line() {
    const void* nl = std::memchr(d_ + p_, '\n', n_ - p_);
    if (nl == nullptr) return Error("unterminated line");
    size_t k = static_cast<const uint8_t*>(nl) - (d_ + p_);
    std::string s(reinterpret_cast<const char*>(d_ + p_), k);
    p_ += k + 1;
    return s;
  }
  absl::StatusOr<Item> Pop() {
    if (stack_.empty() || stack_.back().kind == Item::kMark) return Error("stack underflow");
    Item it = std::move(stack_.back());
    stack_.pop_back();
    return it;
  }
  // Items above the topmost mark, which is removed.
  absl::StatusOr<std::vector<Item>> PopMark() {
    size_t i = stack_.size();
    while (i > 0 && stack_[i - 1].kind != Item::kMark) --i;
    if (i == 0) return Error("no mark on the stack");
    std::vector<Item> items(std::make_move_iterator(stack_.begin() + i), std::make_move_iterator(stack_.end()));
    stack_.resize(i - 1);
    return items;
  }
  // Size and nesting of a list, dict or tuple as a tree; `sealed` once it
  // is part of another value, after which it may not change.
  struct Extent {
    int64_t nodes = 1;
    int depth = 1;
    bool sealed = false;
  };
  static const void* Container(const Item& it) {
    if (it.kind == Item::kTuple) return it.tuple.get();
    if (it.kind != Item::kValue) return nullptr;
    if (const auto* l = std::get_if<std::shared_ptr<PyList>>(&it.value.v)) return l->get();
    if (const auto* d = std::get_if<std::shared_ptr<PyDict>>(&it.value.v)) return d->get();
    return nullptr;
  }
  // Counts `child` into `parent`, sealing it; errors past the limits.
  absl::Status Include(Extent& parent, const Item& child);
  // Charges the copy of a string item against kMaxPickleStringBytes.
  absl::Status Charge(const Item& it);
  absl::StatusOr<PyValue> ToValue(const Item& it);
  absl::Status Global(const std::string& module, const std::string& name);
  absl::Status Reduce();
  absl::Status PersistentLoad();
  absl::Status AddItems(Item& target, std::vector<Item> items, bool pairs);
  static Item Value(PyValue v) {
    Item it;
    it.value = std::move(v);
    return it;
  }
  // New containers are registered: side tables are keyed by address, which
  // a freed container's successor may reuse.
  Item NewList() {
    auto list = std::make_shared<PyList>();
    extents_[list.get()] = Extent{};
    return Value(PyValue{list});
  }
  Item NewDict() {
    auto dict = std::make_shared<PyDict>();
    extents_[dict.get()] = Extent{};
    dict_keys_.erase(dict.get());
    return Value(PyValue{dict});
  }
  absl::StatusOr<Item> Tuple(std::vector<Item> items) {
    Item it;
    it.kind = Item::kTuple;
    it.tuple = std::make_shared<std::vector<Item>>(std::move(items));
    Extent& extent = extents_[it.tuple.get()] = Extent{};
    tuple_values_.erase(it.tuple.get());
    for (const Item& e : *it.tuple) {
      if (absl::Status s = Include(extent, e); !s.ok()) return s;
    }
    return it;
  }
  absl::Status PushTuple(std::vector<Item> items) {
    auto t = Tuple(std::move(items));
    if (!t.ok()) return t.status();
    stack_.push_back(*std::move(t));
    return absl::OkStatus();
  }

  const uint8_t* d_;
  size_t n_;
  size_t p_ = 0;
  size_t op_pos_ = 0;
  const StorageLoader& loader_;
  std::string where_;
  std::vector<Item> stack_;
  std::unordered_map<uint64_t, Item> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
  std::unordered_map<const void*, Extent> extents_;
  std::unordered_map<const void*, PyValue> tuple_values_;  // tuples converted once, so shared ones stay shared
  // Position of each string key in a dict being built: SETITEMS replaces in
  // constant time instead of scanning the dict.
  std::unordered_map<const PyDict*, std::unordered_map<std::string, size_t>> dict_keys_;
  int64_t ops_ = 0;
  int64_t string_bytes_ = 0;
};

absl::Status Unpickler::Include(Extent& parent, const Item& child) {
  Extent c;
  if (const void* p = Container(child)) {
    Extent& e = extents_[p];
    e.sealed = true;
    c = e;
  }
  parent.nodes += c.nodes;  // both at most kMaxPickleNodes: no overflow
  parent.depth = std::max(parent.depth, c.depth + 1);
  if (parent.nodes > kMaxPickleNodes) {
    return Error(absl::StrCat("more than ", kMaxPickleNodes,
                              " values once shared references are expanded (the limit per file)"));
  }
  if (parent.depth > kMaxPickleDepth) {
    return Error(absl::StrCat("values nested deeper than ", kMaxPickleDepth, " levels (the limit per file)"));
  }
  return absl::OkStatus();
}

absl::Status Unpickler::Charge(const Item& it) {
  if (it.kind != Item::kValue || !it.value.is_string()) return absl::OkStatus();
  string_bytes_ += static_cast<int64_t>(std::get<std::string>(it.value.v).size());
  if (string_bytes_ > kMaxPickleStringBytes) {
    return Error(absl::StrCat("more than ", kMaxPickleStringBytes, " bytes of strings (the limit per file)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PyValue> Unpickler::ToValue(const Item& it) {
  switch (it.kind) {
    case Item::kValue:
      return it.value;
    case Item::kTuple: {
      if (auto done = tuple_values_.find(it.tuple.get()); done != tuple_values_.end()) return done->second;
      auto list = std::make_shared<PyList>();
      for (const Item& e : *it.tuple) {
        auto v = ToValue(e);
        if (!v.ok()) return v.status();
        list->push_back(*std::move(v));
      }
      return tuple_values_[it.tuple.get()] = PyValue{list};
    }
    case Item::kGlobal:
      return Error("global " + it.global + " cannot be used as a value");
    case Item::kStorage:
      return Error("a bare storage cannot be used as a value");
    case Item::kMark:
      break;
  }
  return Error("mark used as a value");
}

absl::Status Unpickler::Global(const std::string& module, const std::string& name) {
  static const char* const kAllowed[] = {
      "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"};
  std::string full = module + "." + name;
  bool ok = module == "torch" && StorageDType(name).has_value();
  for (const char* a : kAllowed) ok = ok || full == a;
  if (!ok) return Error("refusing global '" + full + "': only tensors, dicts, lists and scalars are read");
  Item it;
  it.kind = Item::kGlobal;
  it.global = full;
  stack_.push_back(std::move(it));
  return absl::OkStatus();
}

absl::Status Unpickler::PersistentLoad() {
  auto pid = Pop();
  if (!pid.ok()) return pid.status();
  const auto* t = pid->kind == Item::kTuple ? pid->tuple.get() : nullptr;
  if (t == nullptr || t->size() != 5 || !(*t)[0].value.is_string() ||
      std::get<std::string>((*t)[0].value.v) != "storage" || (*t)[1].kind != Item::kGlobal ||
      !(*t)[2].value.is_string() || !(*t)[4].value.is_int()) {
    return Error("persistent id is not ('storage', type, key, location, numel)");
  }
  const std::string& type = (*t)[1].global;
  auto dtype = type.rfind("torch.", 0) == 0 ? StorageDType(type.substr(6)) : std::nullopt;
  if (!dtype) return Error("persistent id names " + type + ", not a storage type");
  std::string key = std::get<std::string>((*t)[2].value.v);
  int64_t numel = std::get<int64_t>((*t)[4].value.v);
  if (numel < 0) return Error("negative storage size");
  Item it;
  it.kind = Item::kStorage;
  auto found = storages_.find(key);
  if (found != storages_.end()) {
    it.storage = found->second;
  } else {
    auto s = loader_(key, *dtype, numel);
    if (!s.ok()) return s.status();
    storages_[key] = *s;
    it.storage = *s;
  }
  stack_.push_back(std::move(it));
  return absl::OkStatus();
}

absl::Status Unpickler::Reduce() {
  auto args = Pop();
  if (!args.ok()) return args.status();
  auto fn = Pop();
  if (!fn.ok()) return fn.status();
  if (fn->kind != Item::kGlobal || args->kind != Item::kTuple) return Error("REDUCE needs a global and a tuple");
  const std::vector<Item>& a = *args->tuple;
  if (fn->global == "collections.OrderedDict") {
    if (!a.empty()) return Error("OrderedDict with arguments");
    stack_.push_back(NewDict());
    return absl::OkStatus();
  }
  if (fn->global == "torch._utils._rebuild_parameter") {
    if (a.empty() || !a[0].value.is_tensor()) return Error("_rebuild_parameter without a tensor");
    stack_.push_back(Value(a[0].value));
    return absl::OkStatus();
  }
  if (fn->global == "torch._utils._rebuild_tensor_v2") {
    if (a.size() < 4 || a[0].kind != Item::kStorage || !a[1].value.is_int() || a[2].kind != Item::kTuple ||
        a[3].kind != Item::kTuple || a[2].tuple->size() != a[3].tuple->size()) {
      return Error("_rebuild_tensor_v2 arguments malformed");
    }
    const at::Tensor& storage = a[0].storage;
    const int64_t offset = std::get<int64_t>(a[1].value.v);
    std::vector<int64_t> size, stride;
    for (size_t i = 0; i < a[2].tuple->size(); ++i) {
      const Item& s = (*a[2].tuple)[i];
      const Item& st = (*a[3].tuple)[i];
      if (!s.value.is_int() || !st.value.is_int()) return Error("tensor size/stride is not an integer");
      size.push_back(std::get<int64_t>(s.value.v));
      stride.push_back(std::get<int64_t>(st.value.v));
      if (size.back() < 0 || stride.back() < 0) return Error("negative tensor size or stride");
    }
    if (offset < 0) return Error("negative storage offset");
    const std::string shape = absl::StrCat("[", absl::StrJoin(size, ", "), "] with strides [",
                                           absl::StrJoin(stride, ", "), "] at offset ", offset);
    const std::optional<int64_t> numel = CheckedNumel(size, storage.element_size());
    if (!numel) return Error("tensor of shape " + shape + ": its size overflows 64 bits");
    // The largest element index the view touches, computed without overflow.
    int64_t last = offset;
    for (size_t i = 0; i < size.size() && *numel > 0; ++i) {
      int64_t span;
      if (__builtin_mul_overflow(size[i] - 1, stride[i], &span) || __builtin_add_overflow(last, span, &last)) {
        return Error("tensor of shape " + shape + ": its extent overflows 64 bits");
      }
    }
    if (*numel > 0 && last >= storage.numel()) {
      return Error(absl::StrCat("tensor of shape ", shape, " exceeds its storage of ", storage.numel(), " elements"));
    }
    at::Tensor t = *numel == 0 ? at::empty(size, storage.options()) : storage.as_strided(size, stride, offset);
    stack_.push_back(Value(PyValue{t}));
    return absl::OkStatus();
  }
  return Error("cannot call " + fn->global);
}

absl::Status Unpickler::AddItems(Item& target, std::vector<Item> items, bool pairs) {
  if (target.kind != Item::kValue) return Error("append/setitem target is not a list or dict");
  const void* container = Container(target);
  if (container == nullptr) return Error("append/setitem target is not a list or dict");
  Extent& extent = extents_[container];
  for (const Item& e : items) {
    if (absl::Status s = Include(extent, e); !s.ok()) return s;
  }
  // Sealed: already part of another value, or of itself (a cycle).
  if (extent.sealed) return Error("a list or dict changes after it became part of another value");
  if (pairs) {
    if (!target.value.is_dict() || items.size() % 2 != 0) return Error("SETITEM(S) target is not a dict");
    PyDict& dict = *std::get<std::shared_ptr<PyDict>>(target.value.v);
    auto& keys = dict_keys_[&dict];
    for (size_t i = 0; i < items.size(); i += 2) {
      auto k = ToValue(items[i]);
      if (!k.ok()) return k.status();
      auto v = ToValue(items[i + 1]);
      if (!v.ok()) return v.status();
      if (k->is_string()) {
        auto [at, added] = keys.emplace(std::get<std::string>(k->v), dict.size());
        if (!added) {
          dict[at->second].second = *std::move(v);
          continue;
        }
      }
      dict.emplace_back(*std::move(k), *std::move(v));
    }
    return absl::OkStatus();
  }
  if (!std::holds_alternative<std::shared_ptr<PyList>>(target.value.v)) return Error("APPEND(S) target is not a list");
  PyList& list = *std::get<std::shared_ptr<PyList>>(target.value.v);
  for (Item& e : items) {
    auto v = ToValue(e);
    if (!v.ok()) return v.status();
    list.push_back(*std::move(v));
  }
  return absl::OkStatus();
}

absl::StatusOr<PyValue> Unpickler::Run() {
  while (p_ < n_) {
    op_pos_ = p_;
    if (++ops_ > kMaxPickleOps) {
      return Error(absl::StrCat("more than ", kMaxPickleOps, " pickle opcodes (the limit per file)"));
    }
    const uint8_t op = d_[p_++];
    absl::Status st;
    switch (op) {
      case 0x80:  // PROTO
        if (!Need(1)) return Error("truncated");
        if (d_[p_++] > 5) return Error("unsupported pickle protocol");
        break;
      case 0x95:  // FRAME
        if (!Need(8)) return Error("truncated");
        p_ += 8;
        break;
      case '.': {  // STOP
        if (stack_.size() != 1) return Error("STOP with a stack of " + std::to_string(stack_.size()));
        return ToValue(stack_.back());
      }
      case '(': {
        Item m;
        m.kind = Item::kMark;
        stack_.push_back(std::move(m));
        break;
      }
      case '0': {
        auto it = Pop();
        if (!it.ok()) return it.status();
        break;
      }
      case '1': {
        auto it = PopMark();
        if (!it.ok()) return it.status();
        break;
      }
      case '2':
        if (stack_.empty()) return Error("DUP on an empty stack");
        stack_.push_back(stack_.back());
        st = Charge(stack_.back());
        break;
      case 'N':
        stack_.push_back(Value(PyValue{}));
        break;
      case 0x88:
        stack_.push_back(Value(PyValue{true}));
        break;
      case 0x89:
        stack_.push_back(Value(PyValue{false}));
        break;
      case 'J':
        if (!Need(4)) return Error("truncated");
        stack_.push_back(Value(PyValue{static_cast<int64_t>(static_cast<int32_t>(Le(4)))}));
        break;
      case 'K':
        if (!Need(1)) return Error("truncated");
        stack_.push_back(Value(PyValue{static_cast<int64_t>(Le(1))}));
        break;
      case 'M':
        if (!Need(2)) return Error("truncated");
        stack_.push_back(Value(PyValue{static_cast<int64_t>(Le(2))}));
        break;
      case 0x8a: {  // LONG1
        if (!Need(1)) return Error("truncated");
        size_t k = Le(1);
        if (k > 8) return Error("integer wider than 64 bits");
        if (!Need(k)) return Error("truncated");
        uint64_t v = Le(k);
        if (k > 0 && k < 8 && (v >> (8 * k - 1)) & 1) v |= ~uint64_t{0} << (8 * k);  // sign-extend
        stack_.push_back(Value(PyValue{static_cast<int64_t>(v)}));
        break;
      }
      case 'G': {
        if (!Need(8)) return Error("truncated");
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | d_[p_ + i];
        p_ += 8;
        double v;
        std::memcpy(&v, &bits, 8);
        stack_.push_back(Value(PyValue{v}));
        break;
      }
      case 'X': case 'T': case 'B':  // 4-byte length strings and bytes
      case 0x8c: case 'U': case 'C':  // 1-byte length
      case 0x8d: case 0x8e: {         // 8-byte length
        size_t w = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
        if (!Need(w)) return Error("truncated");
        uint64_t len = Le(w);
        if (len > n_ - p_) return Error("string runs past the end");
        auto s = Bytes(len);
        if (!s.ok()) return s.status();
        stack_.push_back(Value(PyValue{*std::move(s)}));
        st = Charge(stack_.back());
        break;
      }
      case '}':
        stack_.push_back(NewDict());
        break;
      case ']':
        stack_.push_back(NewList());
        break;
      case ')':
        st = PushTuple({});
        break;
      case 't': {
        auto items = PopMark();
        if (!items.ok()) return items.status();
        st = PushTuple(*std::move(items));
        break;
      }
      case 0x85: case 0x86: case 0x87: {
        size_t k = op - 0x84;
        if (stack_.size() < k) return Error("stack underflow");
        std::vector<Item> items;
        for (size_t i = stack_.size() - k; i < stack_.size(); ++i) {
          if (stack_[i].kind == Item::kMark) return Error("mark inside TUPLE" + std::to_string(k));
          items.push_back(std::move(stack_[i]));
        }
        stack_.resize(stack_.size() - k);
        st = PushTuple(std::move(items));
        break;
      }
      case 'l': case 'd': {
        auto items = PopMark();
        if (!items.ok()) return items.status();
        Item target = op == 'l' ? NewList() : NewDict();
        st = AddItems(target, *std::move(items), op == 'd');
        stack_.push_back(std::move(target));
        break;
      }
      case 'a': case 's': {
        size_t k = op == 'a' ? 1 : 2;
        if (stack_.size() < k + 1) return Error("stack underflow");
        std::vector<Item> items(std::make_move_iterator(stack_.end() - k), std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - k);
        st = AddItems(stack_.back(), std::move(items), op == 's');
        break;
      }
      case 'e': case 'u': {
        auto items = PopMark();
        if (!items.ok()) return items.status();
        if (stack_.empty()) return Error("stack underflow");
        st = AddItems(stack_.back(), *std::move(items), op == 'u');
        break;
      }
      case 'c': {
        auto module = Line();
        if (!module.ok()) return module.status();
        auto name = Line();
        if (!name.ok()) return name.status();
        st = Global(*module, *name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = Pop();
        if (!name.ok()) return name.status();
        auto module = Pop();
        if (!module.ok()) return module.status();
        if (!name->value.is_string() || !module->value.is_string()) return Error("STACK_GLOBAL needs strings");
        st = Global(std::get<std::string>(module->value.v), std::get<std::string>(name->value.v));
        break;
      }
      case 'R':
        st = Reduce();
        break;
      case 'b': {  // BUILD: only the state of OrderedDict (e.g. _metadata) is accepted, and ignored
        auto state = Pop();
        if (!state.ok()) return state.status();
        if (stack_.empty() || !stack_.back().value.is_dict()) return Error("BUILD on something other than a dict");
        break;
      }
      case 'Q':
        st = PersistentLoad();
        break;
      case 'q': case 'r': case 0x94: {
        uint64_t idx = op == 'q' ? (Need(1) ? Le(1) : UINT64_MAX)
                     : op == 'r' ? (Need(4) ? Le(4) : UINT64_MAX)
                                 : memo_.size();
        if (idx == UINT64_MAX) return Error("truncated");
        if (stack_.empty() || stack_.back().kind == Item::kMark) return Error("memo of nothing");
        memo_[idx] = stack_.back();
        st = Charge(stack_.back());
        break;
      }
      case 'h': case 'j': {
        size_t w = op == 'h' ? 1 : 4;
        if (!Need(w)) return Error("truncated");
        auto it = memo_.find(Le(w));
        if (it == memo_.end()) return Error("memo key not found");
        stack_.push_back(it->second);
        st = Charge(stack_.back());
        break;
      }
      default:
        return Error(absl::StrCat("unsupported or unsafe opcode 0x", absl::Hex(op)));
    }
    if (!st.ok()) return st;
  }
  return Error("no STOP opcode");
}

// Writer ---------------------------------------------------------------------

class Pickler {
 public:
  explicit Pickler(std::vector<at::Tensor>* storages) : storages_(storages) {}
  absl::Status Put(const PyValue& v);
  std::string& out() { return out_; }

 private:
  void Op(char c) { out_.push_back(c); }
  void U32(uint64_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void Str(const std::string& s) {
    Op('X');
    U32(s.size());
    out_ += s;
  }
  void Int(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      Op('J');
      U32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    } else {
      out_.push_back(static_cast<char>(0x8a));
      out_.push_back(8);
      for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF));
    }
  }
  void Global(const std::string& module, const std::string& name) {
    Op('c');
    out_ += module + "\n" + name + "\n";
  }
  absl::Status Tensor(const at::Tensor& t);

  std::vector<at::Tensor>* storages_;
  std::string out_;
};

absl::Status Pickler::Tensor(const at::Tensor& t) {
  auto storage_name = StorageName(t.scalar_type());
  if (!storage_name) {
    return absl::InvalidArgumentError(absl::StrCat("cannot save a tensor of dtype ", c10::toString(t.scalar_type())));
  }
  at::Tensor c = t.detach().to(at::kCPU).contiguous();
  std::string key = std::to_string(storages_->size());
  storages_->push_back(c);
  Global("torch._utils", "_rebuild_tensor_v2");
  Op('(');
  Op('(');
  Str("storage");
  Global("torch", *storage_name);
  Str(key);
  Str("cpu");
  Int(c.numel());
  Op('t');
  Op('Q');
  Int(0);
  Op('(');
  for (int64_t s : c.sizes()) Int(s);
  Op('t');
  Op('(');
  for (int64_t s : c.strides()) Int(s);
  Op('t');
  out_.push_back(static_cast<char>(0x89));
  Global("collections", "OrderedDict");
  Op(')');
  Op('R');
  Op('t');
  Op('R');
  return absl::OkStatus();
}

absl::Status Pickler::Put(const PyValue& v) {
  return std::visit(
      [&](const auto& x) -> absl::Status {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          Op('N');
        } else if constexpr (std::is_same_v<T, bool>) {
          out_.push_back(static_cast<char>(x ? 0x88 : 0x89));
        } else if constexpr (std::is_same_v<T, int64_t>) {
          Int(x);
        } else if constexpr (std::is_same_v<T, double>) {
          Op('G');
          uint64_t bits;
          std::memcpy(&bits, &x, 8);
          for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
        } else if constexpr (std::is_same_v<T, std::string>) {
          Str(x);
        } else if constexpr (std::is_same_v<T, at::Tensor>) {
          return Tensor(x);
        } else if constexpr (std::is_same_v<T, std::shared_ptr<PyList>>) {
          Op(']');
          if (!x->empty()) {
            Op('(');
            for (const PyValue& e : *x) {
              absl::Status s = Put(e);
              if (!s.ok()) return s;
            }
            Op('e');
          }
        } else {
          Op('}');
          if (!x->empty()) {
            Op('(');
            for (const auto& [k, e] : *x) {
              absl::Status s = Put(k);
              if (s.ok()) s = Put(e);
              if (!s.ok()) return s;
            }
            Op('u');
          }
        }
        return absl::OkStatus();
      },
      v.v);
}

}  // namespace

absl::StatusOr<PyValue> Unpickle(const uint8_t* data, size_t size, const StorageLoader& load_storage,
                                 const std::string& where) {
  return Unpickler(data, size, load_storage, where).Run();
}

absl::StatusOr<std::string> Pickle(const PyValue& value, std::vector<at::Tensor>* storages) {
  Pickler p(storages);
  p.out().push_back(static_cast<char>(0x80));
  p.out().push_back(2);
  absl::Status s = p.Put(value);
  if (!s.ok()) return s;
  p.out().push_back('.');
  return std::move(p.out());
}

}  // namespace seedvr::core
