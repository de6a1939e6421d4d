// Kernel micro-benchmarks at the GEMM shapes of BERT-base (hidden 768, 12 heads, FFN 3072) and of
// ko-emotion7-small (hidden 256, FFN 1024: small_*, the model the server benchmark serves) for
// seq = 8..512 tokens, on every ISA this CPU supports, single-threaded (the engine parallelizes
// around these calls):
//   f32/<isa>/<N>x<K>/<M>   : Ops::linear_f32 on packed weights (AVX-512: our register-tiled
//                             kernel; AVX2, portable (Eigen) and scalar: their table's path;
//                             scalar at the 768x768 shape only, it is slow)
//   u8s8/<isa>/<N>x<K>/<M>  : Ops::linear_u8s8 (int8 weights, u8 activations; amx: tdpbusd)
//   u8s8_7bit/<isa>/...     : the same with 7-bit weights in [-64, 64] (QuantizedWeights::narrow,
//                             `convert --reduce-range`)
//   bf16/<isa>/<N>x<K>/<M>  : Ops::linear_bf16 (bf16 weights, activations rounded per call; % of
//                             the fp32 peak: the FMA kernels do one multiply-add a lane, vdpbf16ps
//                             two)
//   attention/<isa>/<seq>   : Ops::attention_head, head_dim 64
//   attention_bf16/<isa>/<seq> : Ops::attention_head_bf16 (CPUs with AVX512_BF16; % of peak
//                             against twice the fp32 peak: vdpbf16ps does 2 multiply-adds a lane)
// Counters: GFLOPS (2·M·N·K per GEMM) and pct_peak = GFLOPS / (clock x ops/cycle of one core), both
// from engine/kernels/peak.h: fp32 AVX-512 64 flop/cycle (2 FMA units x 16 lanes x 2), AVX2 32,
// scalar 2; int8 counts 2 ops per multiply-add: VNNI 256 op/cycle (2 vpdpbusd units x 64 MACs x 2),
// AVX2 64 (a vpmaddubsw + vpmaddwd pair per cycle: 32 MACs x 2), AMX 2048. On AMD Zen 4 (family
// 0x19), which runs 512-bit ops as two 256-bit halves, AVX-512 fp32 is 32 and VNNI 128; the context
// line peak_assumption says which applies. The clock is measured at start-up with a chain of
// dependent adds (one per cycle), so turbo is included; override with MAUM_PEAK_GHZ.
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/peak.h"

namespace {

using maum::kernels::Isa;
using maum::kernels::Ops;

double ghz() {
  static const double value = maum::kernels::measure_clock_ghz();
  return value;
}

template <typename T>
T* aligned(size_t count) {
  return static_cast<T*>(std::aligned_alloc(64, (count * sizeof(T) + 127) / 64 * 64));
}

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

void set_counters(benchmark::State& state, double flops, double peak_per_cycle) {
  const double iters = static_cast<double>(state.iterations());
  state.counters["GFLOPS"] = benchmark::Counter(flops * iters / 1e9, benchmark::Counter::kIsRate);
  if (ghz() <= 0) return;  // no clock (not x86, no MAUM_PEAK_GHZ)
  state.counters["pct_peak"] = benchmark::Counter(
      flops * iters / 1e9 / (ghz() * peak_per_cycle) * 100, benchmark::Counter::kIsRate);
}

void bench_f32(benchmark::State& state, Isa isa, size_t n, size_t k) {
  const Ops& ops = maum::kernels::ops_for(isa);
  const size_t m = static_cast<size_t>(state.range(0));
  auto x = random_floats(m * k, 1), w = random_floats(n * k, 2), bias = random_floats(n, 3);
  std::vector<float> y(m * n);
  maum::kernels::LinearF32 lw;
  lw.w = w.data(); lw.bias = bias.data(); lw.n = n; lw.k = k;
  float* packed = nullptr;
  if (size_t size = ops.packed_f32_size(n, k)) {
    packed = aligned<float>(size);
    ops.pack_f32(w.data(), n, k, packed);
    lw.packed = packed;
  }
  for (auto _ : state) {
    ops.linear_f32(x.data(), k, lw, y.data(), n, m, 0, n, maum::kernels::Epilogue::kNone);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, 2.0 * m * n * k, maum::kernels::peak_ops_per_cycle(isa, false));
  std::free(packed);
}

void bench_bf16(benchmark::State& state, Isa isa, size_t n, size_t k) {
  const Ops& ops = maum::kernels::ops_for(isa);
  const size_t m = static_cast<size_t>(state.range(0));
  auto x = random_floats(m * k, 1), w = random_floats(n * k, 2), bias = random_floats(n, 3);
  std::vector<float> y(m * n);
  auto* packed = aligned<uint16_t>(ops.packed_bf16_size(n, k));
  ops.pack_bf16(w.data(), n, k, packed);
  maum::kernels::LinearBf16 lw;
  lw.packed = packed; lw.bias = bias.data(); lw.n = n; lw.k = k;
  for (auto _ : state) {
    ops.linear_bf16(x.data(), k, lw, y.data(), n, m, 0, n, maum::kernels::Epilogue::kNone);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, 2.0 * m * n * k, maum::kernels::peak_ops_per_cycle(isa, false));
  std::free(packed);
}

void bench_u8s8(benchmark::State& state, Isa isa, size_t n, size_t k, bool narrow) {
  const Ops& ops = maum::kernels::ops_for(isa);
  const size_t m = static_cast<size_t>(state.range(0));
  std::mt19937 rng(4);
  std::vector<uint8_t> q(m * k);
  for (auto& v : q) v = static_cast<uint8_t>(rng());
  std::vector<int8_t> w(n * k);
  const int levels = narrow ? 64 : 127;  // 7-bit weights (convert --reduce-range) or full s8
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % (2 * levels + 1)) - levels);
  std::vector<int32_t> row_sum(n, 0);
  for (size_t c = 0; c < n; ++c)
    for (size_t i = 0; i < k; ++i) row_sum[c] += w[c * k + i];
  auto ws = random_floats(n, 5), xs = random_floats(m, 6), bias = random_floats(n, 7);
  maum::kernels::QuantizedWeights qw;
  qw.data = w.data(); qw.scale = ws.data(); qw.row_sum = row_sum.data(); qw.n = n; qw.k = k;
  qw.narrow = narrow;
  int8_t* packed = nullptr;
  if (size_t size = ops.packed_u8s8_size(n, k)) {
    packed = aligned<int8_t>(size);
    ops.pack_u8s8(w.data(), n, k, packed);
    qw.packed = packed;
  }
  std::vector<float> y(m * n);
  for (auto _ : state) {
    ops.linear_u8s8(q.data(), k, xs.data(), qw, bias.data(), y.data(), n, m, 0, n,
                    maum::kernels::Epilogue::kNone);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, 2.0 * m * n * k, maum::kernels::peak_ops_per_cycle(isa, true));
  std::free(packed);
}

void bench_attention(benchmark::State& state, Isa isa, bool bf16) {
  const Ops& ops = maum::kernels::ops_for(isa);
  const auto attention = bf16 ? ops.attention_head_bf16 : ops.attention_head;
  const size_t seq = static_cast<size_t>(state.range(0)), d = 64, ld = 3 * 768;
  auto qkv = random_floats(seq * ld, 8);
  std::vector<float> out(seq * 768);
  float* scratch = aligned<float>(maum::kernels::attention_scratch_floats(seq, d));
  for (auto _ : state) {
    attention(qkv.data(), qkv.data() + 768, qkv.data() + 1536, ld, seq, d, 0.125f, out.data(),
              768, scratch);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, 4.0 * seq * seq * d,
               (bf16 ? 2 : 1) * maum::kernels::peak_ops_per_cycle(isa, false));
  std::free(scratch);
}

struct Shape {
  const char* name;
  size_t n, k;
};
const Shape kShapes[] = {{"qkv_2304x768", 2304, 768},
                         {"out_768x768", 768, 768},
                         {"up_3072x768", 3072, 768},
                         {"down_768x3072", 768, 3072},
                         // ko-emotion7-small (hidden 256, FFN 1024), the served model
                         {"small_qkv_768x256", 768, 256},
                         {"small_out_256x256", 256, 256},
                         {"small_up_1024x256", 1024, 256},
                         {"small_down_256x1024", 256, 1024}};

void apply_seq(benchmark::internal::Benchmark* b) {
  for (int seq : {8, 24, 128, 512}) b->Arg(seq);
  b->ArgName("seq")->Unit(benchmark::kMicrosecond);
}

int register_all() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kAmx, Isa::kAvx512Vnni, Isa::kAvx512, Isa::kAvx2, Isa::kPortable,
                  Isa::kScalar}) {
    if (maum::kernels::isa_supported(isa)) isas.push_back(isa);
  }
  for (const Shape& s : kShapes) {
    for (Isa isa : isas) {
      // The scalar reference is too slow to be worth timing at every shape.
      if (isa == Isa::kScalar && s.n != s.k) continue;
      if (isa == Isa::kAvx512Vnni || isa == Isa::kAmx) continue;  // both == avx512 for fp32
      benchmark::RegisterBenchmark(
          (std::string("f32/") + maum::kernels::isa_name(isa) + "/" + s.name).c_str(), bench_f32,
          isa, s.n, s.k)->Apply(apply_seq);
    }
    for (Isa isa : isas) {
      if (isa == Isa::kScalar || isa == Isa::kPortable) continue;  // both the reference
      if (isa == Isa::kAvx512Vnni) continue;                        // == avx512
      benchmark::RegisterBenchmark(
          (std::string("bf16/") + maum::kernels::isa_name(isa) + "/" + s.name).c_str(), bench_bf16,
          isa, s.n, s.k)->Apply(apply_seq);
    }
    for (Isa isa : isas) {
      // avx512 int8 == avx2 kernel; the portable table's int8 is the scalar reference
      if (isa == Isa::kScalar || isa == Isa::kAvx512 || isa == Isa::kPortable) continue;
      for (bool narrow : {false, true}) {
        benchmark::RegisterBenchmark((std::string(narrow ? "u8s8_7bit/" : "u8s8/") +
                                      maum::kernels::isa_name(isa) + "/" + s.name).c_str(),
                                     bench_u8s8, isa, s.n, s.k, narrow)->Apply(apply_seq);
      }
    }
  }
  for (Isa isa : isas) {
    if (isa == Isa::kAmx) continue;  // the avx512vnni table's attention
    benchmark::RegisterBenchmark(
        (std::string("attention/") + maum::kernels::isa_name(isa)).c_str(), bench_attention, isa,
        false)->Apply(apply_seq);
    if (maum::kernels::ops_for(isa).attention_head_bf16) {
      benchmark::RegisterBenchmark(
          (std::string("attention_bf16/") + maum::kernels::isa_name(isa)).c_str(), bench_attention,
          isa, true)->Apply(apply_seq);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::AddCustomContext("clock_ghz_measured", std::to_string(ghz()));
  benchmark::AddCustomContext("best_isa", maum::kernels::isa_name(maum::kernels::best_isa()));
  benchmark::AddCustomContext("peak_assumption", maum::kernels::vector_width_note());
  benchmark::AddCustomContext("amx", maum::kernels::amx_status().reason);
  benchmark::AddCustomContext("bf16_attention_choice",
                              (maum::kernels::bf16_attention_choice().on ? "on: " : "off: ") +
                                  maum::kernels::bf16_attention_choice().reason);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
