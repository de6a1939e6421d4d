// Internal: the range of softmax/sigmoid temperatures every reader accepts (maum.config, a policy,
// calibration.json, ClassifyOptions) and the calibrator searches. Outside it the numbers break
// down rather than calibrate: logits / 1e-300 overflow and 1e300 flattens every output to
// uniform, so a file carrying such a value is an error, not a model that answers nonsense.
#pragma once

namespace maum::core {

inline constexpr double kMinTemperature = 0.01;
inline constexpr double kMaxTemperature = 100.0;

// True for kMinTemperature <= t <= kMaxTemperature (false for NaN). Check the value in the type
// that will be used: a double that narrows to a float 0 or infinity fails as that float.
inline bool valid_temperature(double t) { return t >= kMinTemperature && t <= kMaxTemperature; }

// "[0.01, 100]", for error messages.
inline const char* temperature_range() { return "[0.01, 100]"; }

}  // namespace maum::core
