// maum._maum: the pybind11 bindings behind `import maum` (python/maum/__init__.py adds the
// pipeline-shaped __call__). Every computation releases the GIL; a Model or Tokenizer may be used
// from several Python threads at once (the C++ objects are immutable after loading). maum::Error
// and its subclasses become maum.Error, maum.IoError, maum.FormatError, maum.InvalidArgument with
// the same messages.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "maum/analysis.h"
#include "maum/error.h"
#include "maum/model.h"
#include "maum/runtime.h"
#include "maum/tokenizer.h"

namespace py = pybind11;

namespace {

// Text(s) from Python: one str or a sequence of str.
std::vector<std::string> texts_from(const py::handle& texts) {
  if (py::isinstance<py::str>(texts)) return {texts.cast<std::string>()};
  std::vector<std::string> out;
  for (const py::handle& item : py::iter(texts)) {
    if (!py::isinstance<py::str>(item))
      throw maum::InvalidArgument("texts must be a str or a sequence of str");
    out.push_back(item.cast<std::string>());
  }
  return out;
}

py::dict encoding_dict(const maum::Encoding& e, const maum::Tokenizer& tokenizer) {
  py::list offsets, tokens;
  for (const auto& [begin, end] : e.offsets) offsets.append(py::make_tuple(begin, end));
  for (int32_t id : e.ids) tokens.append(tokenizer.id_to_token(id));
  py::dict d;
  d["ids"] = e.ids;
  d["type_ids"] = e.type_ids;
  d["offsets"] = offsets;
  d["tokens"] = tokens;
  d["attention_mask"] = std::vector<int>(e.attention_mask.begin(), e.attention_mask.end());
  return d;
}

py::array_t<float> matrix(const std::vector<maum::Classification>& results, size_t labels,
                          bool logits) {
  py::array_t<float> out({results.size(), labels});
  auto view = out.mutable_unchecked<2>();
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& row = logits ? results[i].logits : results[i].probs;
    for (size_t j = 0; j < labels; ++j) view(i, j) = row[j];
  }
  return out;
}

class PyModel {
 public:
  PyModel(const std::string& path, std::optional<int> threads, const std::string& precision) {
    if (threads) {
      if (*threads < 0) throw maum::InvalidArgument("threads must be >= 0 (0: number of cores)");
      maum::set_num_threads(*threads);
    }
    maum::LoadOptions options;
    options.precision = maum::parse_precision(precision);
    py::gil_scoped_release release;
    model_.emplace(maum::Model::load(path, options));
    const maum::ModelInfo& info = model_->info();
    pipeline_.emplace(info.labels, info.multi_label(), info.temperature,
                      maum::embedded_policy(info.policy_json, path).value_or(maum::Policy{}));
  }

  std::vector<maum::Classification> run(const std::vector<std::string>& texts,
                                        double temperature) const {
    maum::ClassifyOptions options;
    options.temperature = temperature;
    py::gil_scoped_release release;
    return model_->classify(texts, options);
  }

  // (probs, logits) as float32 arrays [n, labels]; probs at the model's calibrated temperature,
  // exactly what `maum classify` prints.
  py::tuple classify(const py::handle& texts) const {
    const auto results = run(texts_from(texts), 0);
    const size_t labels = model_->info().labels.size();
    return py::make_tuple(matrix(results, labels, false), matrix(results, labels, true));
  }

  // Probabilities at temperature 1 (softmax, or sigmoid for multi-label): what transformers'
  // text-classification pipeline scores are.
  py::array_t<float> raw_scores(const py::handle& texts) const {
    const auto results = run(texts_from(texts), 1.0);
    return matrix(results, model_->info().labels.size(), false);
  }

  // S000's /analyze_emotion body: emotions {label: p}, dominant, entropy (nats), confidence.
  py::dict analyze(const std::string& text) const {
    maum::Analysis a;
    {
      py::gil_scoped_release release;
      const auto logits = model_->classify({text})[0].logits;
      a = pipeline_->run(logits);
    }
    py::dict emotions;
    for (size_t i = 0; i < a.labels.size(); ++i) emotions[py::str(a.labels[i])] = a.probs[i];
    py::dict out;
    out["emotions"] = emotions;
    out["dominant"] = a.label;
    out["entropy"] = a.entropy;
    out["confidence"] = a.confidence;
    return out;
  }

  const maum::Model& model() const { return *model_; }

 private:
  std::optional<maum::Model> model_;
  std::optional<maum::AnalysisPipeline> pipeline_;
};

class PyTokenizer {
 public:
  explicit PyTokenizer(maum::Tokenizer tokenizer) : tokenizer_(std::move(tokenizer)) {}
  static PyTokenizer from_dir(const std::string& dir) {
    py::gil_scoped_release release;
    return PyTokenizer(maum::Tokenizer::from_dir(dir));
  }
  static PyTokenizer from_model(const std::string& path) {
    py::gil_scoped_release release;
    return PyTokenizer(maum::Tokenizer::from_model_file(path));
  }
  py::dict encode(const std::string& text) const {
    maum::Encoding e;
    {
      py::gil_scoped_release release;
      e = tokenizer_.encode(text);
    }
    return encoding_dict(e, tokenizer_);
  }
  py::list encode_batch(const py::handle& texts) const {
    const auto batch = texts_from(texts);
    std::vector<maum::Encoding> encodings;
    {
      py::gil_scoped_release release;
      encodings = tokenizer_.encode_batch(batch, {}, maum::num_threads());
    }
    py::list out;
    for (const auto& e : encodings) out.append(encoding_dict(e, tokenizer_));
    return out;
  }
  const maum::Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  maum::Tokenizer tokenizer_;
};

}  // namespace

PYBIND11_MODULE(_maum, m) {
  m.doc() = "maum: BERT-family text classification (C++ engine)";
  m.attr("__version__") = MAUM_VERSION;

  auto error = py::register_exception<maum::Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<maum::IoError>(m, "IoError", error.ptr());
  py::register_exception<maum::FormatError>(m, "FormatError", error.ptr());
  py::register_exception<maum::InvalidArgument>(m, "InvalidArgument", error.ptr());

  m.def("set_num_threads", &maum::set_num_threads, py::arg("threads"),
        "Threads for the engine, process-wide (0: number of cores).");
  m.def("num_threads", &maum::num_threads);
  m.def("runtime_info", &maum::runtime_info);

  py::class_<PyModel>(m, "_Model")
      .def(py::init<const std::string&, std::optional<int>, const std::string&>(), py::arg("path"),
           py::arg("threads") = py::none(), py::arg("precision") = "fp32")
      .def("classify", &PyModel::classify, py::arg("texts"))
      .def("_raw_scores", &PyModel::raw_scores, py::arg("texts"))
      .def("analyze", &PyModel::analyze, py::arg("text"))
      .def_property_readonly("labels", [](const PyModel& m) { return m.model().info().labels; })
      .def_property_readonly("info", [](const PyModel& m) {
        const maum::ModelInfo& i = m.model().info();
        py::dict d;
        d["model_type"] = i.model_type;
        d["problem_type"] = i.problem_type;
        d["labels"] = i.labels;
        d["temperature"] = i.temperature;
        d["hidden_size"] = i.hidden_size;
        d["num_layers"] = i.num_layers;
        d["num_heads"] = i.num_heads;
        d["intermediate_size"] = i.intermediate_size;
        d["max_position_embeddings"] = i.max_position_embeddings;
        d["weight_type"] = i.weight_type;
        d["precision"] = i.precision;
        d["int8_linear_layers"] = i.int8_linear_layers;
        d["seven_bit_linear_layers"] = i.seven_bit_linear_layers;
        return d;
      })
      .def_property_readonly("multi_label", [](const PyModel& m) { return m.model().info().multi_label(); })
      .def_property_readonly("tokenizer", [](const PyModel& m) { return PyTokenizer(m.model().tokenizer()); });

  py::class_<PyTokenizer>(m, "_Tokenizer")
      .def(py::init([](const std::string& dir) { return PyTokenizer::from_dir(dir); }), py::arg("vocab_dir"))
      .def_static("from_model", &PyTokenizer::from_model, py::arg("path"))
      .def("encode", &PyTokenizer::encode, py::arg("text"))
      .def("encode_batch", &PyTokenizer::encode_batch, py::arg("texts"))
      .def("decode", [](const PyTokenizer& t, const std::vector<int32_t>& ids, bool skip) {
             return t.tokenizer().decode(ids, skip);
           }, py::arg("ids"), py::arg("skip_special_tokens") = true)
      .def_property_readonly("vocab_size", [](const PyTokenizer& t) { return t.tokenizer().vocab_size(); });
}
