// Ulysses sequence parallelism; see ulysses.h.
#include "seedvr/parallel/ulysses.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace seedvr::parallel {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void Finish(const c10::intrusive_ptr<c10d::Work>& work, const SequenceParallel& sp, const char* what) {
  if (auto s = Wait(*work, sp.timeout, what); !s.ok()) throw std::runtime_error(std::string(s.message()));
}

// Rows [0, rows) of x, zero-padded at the end.
at::Tensor PadRows(const at::Tensor& x, int64_t rows) {
  if (x.size(0) == rows) return x;
  std::vector<int64_t> pad(2 * x.dim(), 0);
  pad.back() = rows - x.size(0);  // constant_pad_nd lists the last dimension first
  return at::constant_pad_nd(x, pad, 0);
}

// out[j] = rank j's x[this rank], for x [sp, ...].
at::Tensor AllToAll(at::Tensor x, const SequenceParallel& sp) {
  x = x.contiguous();
  at::Tensor out = at::empty_like(x);
  std::vector<int64_t> equal;
  Finish(sp.group->alltoall_base(out, x, equal, equal), sp, "the sequence-parallel all-to-all");
  return out;
}

at::Tensor RawSequenceToHeads(const at::Tensor& x, int64_t length, const SequenceParallel& sp) {
  const int64_t c = x.size(0), g = x.size(1), h = x.size(2), d = x.size(3);
  TORCH_CHECK(h % sp.size == 0, "sequence parallelism: ", h, " heads do not divide by sp_size ", sp.size);
  at::Tensor send = x.reshape({c, g, sp.size, h / sp.size, d}).permute({2, 0, 1, 3, 4});
  return AllToAll(send, sp).view({sp.size * c, g, h / sp.size, d}).narrow(0, 0, length);
}

at::Tensor RawHeadsToSequence(const at::Tensor& x, const SequenceParallel& sp) {
  const int64_t c = sp.ShardLength(x.size(0)), g = x.size(1), hs = x.size(2), d = x.size(3);
  at::Tensor recv = AllToAll(PadRows(x, sp.size * c).reshape({sp.size, c, g, hs, d}), sp);
  return recv.permute({1, 2, 0, 3, 4}).reshape({c, g, sp.size * hs, d});
}

at::Tensor RawGather(const at::Tensor& x, int64_t length, const SequenceParallel& sp) {
  at::Tensor in = x.contiguous();
  std::vector<int64_t> shape = in.sizes().vec();
  shape[0] *= sp.size;
  at::Tensor out = at::empty(shape, in.options());
  Finish(sp.group->_allgather_base(out, in), sp, "the sequence-parallel all-gather");
  return out.narrow(0, 0, length);
}

at::Tensor RawReduceScatter(const at::Tensor& x, int64_t shard, const SequenceParallel& sp) {
  at::Tensor in = PadRows(x, sp.size * shard).contiguous();
  std::vector<int64_t> shape = in.sizes().vec();
  shape[0] = shard;
  at::Tensor out = at::empty(shape, in.options());
  Finish(sp.group->_reduce_scatter_base(out, in), sp, "the sequence-parallel reduce-scatter");
  return out;
}

SequenceParallelHandle Group(AutogradContext* ctx) {
  return c10::static_intrusive_pointer_cast<SequenceParallel>(ctx->saved_data["sp"].toCapsule());
}

struct SequenceToHeadsFn : torch::autograd::Function<SequenceToHeadsFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t length, SequenceParallelHandle sp) {
    ctx->saved_data["sp"] = c10::IValue::make_capsule(sp);
    return RawSequenceToHeads(x, length, *sp);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {RawHeadsToSequence(grad[0], *Group(ctx)), at::Tensor(), at::Tensor()};
  }
};

struct HeadsToSequenceFn : torch::autograd::Function<HeadsToSequenceFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, SequenceParallelHandle sp) {
    ctx->saved_data["sp"] = c10::IValue::make_capsule(sp);
    ctx->saved_data["length"] = x.size(0);
    return RawHeadsToSequence(x, *sp);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {RawSequenceToHeads(grad[0], ctx->saved_data["length"].toInt(), *Group(ctx)), at::Tensor()};
  }
};

struct GatherSequenceFn : torch::autograd::Function<GatherSequenceFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t length, SequenceParallelHandle sp) {
    ctx->saved_data["sp"] = c10::IValue::make_capsule(sp);
    ctx->saved_data["shard"] = x.size(0);
    return RawGather(x, length, *sp);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {RawReduceScatter(grad[0], ctx->saved_data["shard"].toInt(), *Group(ctx)), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

SequenceParallelHandle MakeSequenceParallel(const ProcessGroups& groups) {
  if (groups.sp_size() == 1) return {};
  auto sp = c10::make_intrusive<SequenceParallel>();
  sp->group = groups.sequence_parallel();
  sp->rank = groups.sp_rank();
  sp->size = groups.sp_size();
  sp->timeout = groups.timeout();
  return sp;
}

at::Tensor ScatterSequence(const at::Tensor& x, const SequenceParallelHandle& sp) {
  const int64_t c = sp->ShardLength(x.size(0));
  return PadRows(x, sp->size * c).narrow(0, sp->rank * c, c);
}

at::Tensor GatherSequence(const at::Tensor& x, int64_t length, const SequenceParallelHandle& sp) {
  return GatherSequenceFn::apply(x, length, sp);
}

at::Tensor SequenceToHeads(const at::Tensor& x, int64_t length, const SequenceParallelHandle& sp) {
  return SequenceToHeadsFn::apply(x, length, sp);
}

at::Tensor HeadsToSequence(const at::Tensor& x, const SequenceParallelHandle& sp) {
  return HeadsToSequenceFn::apply(x, sp);
}

}  // namespace seedvr::parallel
