// Reading back a headless-browser screenshot in tests: decodes 8-bit RGB/RGBA non-interlaced PNG
// (what chromium --screenshot writes) with zlib, so a test can look at the pixels it rendered.
// Link ZLIB::ZLIB.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace maum::testing {

struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

// Returns false (and leaves `image` empty) on anything it does not decode.
inline bool decode_png(const std::string& file, Image& image) {
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(file[at])) << 24) | (uint32_t(uint8_t(file[at + 1])) << 16) |
           (uint32_t(uint8_t(file[at + 2])) << 8) | uint32_t(uint8_t(file[at + 3]));
  };
  if (file.size() < 8 || file.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return false;
  std::string idat;
  uint32_t w = 0, h = 0;
  int channels = 0;
  for (size_t at = 8; at + 12 <= file.size();) {
    const uint32_t len = be32(at);
    const std::string type = file.substr(at + 4, 4);
    if (at + 12 + len > file.size()) return false;
    if (type == "IHDR") {
      w = be32(at + 8);
      h = be32(at + 12);
      const int depth = uint8_t(file[at + 16]), color = uint8_t(file[at + 17]);
      if (depth != 8 || (color != 2 && color != 6) || file[at + 20] != 0) return false;
      channels = color == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      idat += file.substr(at + 8, len);
    }
    at += 12 + len;
  }
  if (!w || !h || !channels) return false;
  const size_t stride = size_t(w) * channels;
  std::vector<uint8_t> raw((stride + 1) * h);
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_size != raw.size())
    return false;
  std::vector<uint8_t> pixels(stride * h), prev(stride, 0);
  for (uint32_t y = 0; y < h; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &pixels[y * stride];
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= size_t(channels) ? out[x - channels] : 0, b = prev[x],
                c = x >= size_t(channels) ? prev[x - channels] : 0;
      int pred = 0;
      if (filter == 1) pred = a;
      else if (filter == 2) pred = b;
      else if (filter == 3) pred = (a + b) / 2;
      else if (filter == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter != 0) {
        return false;
      }
      out[x] = uint8_t(in[x] + pred);
    }
    std::copy(out, out + stride, prev.begin());
  }
  image.width = w;
  image.height = h;
  image.rgb.clear();
  for (size_t i = 0; i < pixels.size(); i += channels)
    image.rgb.insert(image.rgb.end(), &pixels[i], &pixels[i] + 3);
  return true;
}

}  // namespace maum::testing
