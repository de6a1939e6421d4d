// UTF-8 validation, decoding and repair (Python's errors="replace": one U+FFFD per maximal
// invalid subsequence, as the Unicode standard recommends).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace maum::tokenizer_detail {

// Length of the valid sequence starting at p (1-4), or 0 if the bytes at p are not one; `avail`
// bytes are readable. With invalid input, *maximal_prefix gets the length of the maximal prefix of
// a valid sequence (at least 1), i.e. how many bytes one U+FFFD replaces.
inline size_t utf8_sequence_length(const uint8_t* p, size_t avail, size_t* maximal_prefix) {
  const uint8_t b0 = p[0];
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) need = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;        // no overlongs
    else if (b0 == 0xED) hi = 0x9F;   // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    else if (b0 == 0xF4) hi = 0x8F;   // <= U+10FFFF
  } else {
    *maximal_prefix = 1;
    return 0;
  }
  size_t k = 1;
  for (; k < need; ++k) {
    if (k >= avail) break;
    const uint8_t b = p[k];
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) break;
  }
  if (k == need) return need;
  *maximal_prefix = k;
  return 0;
}

// Byte offset of the first invalid byte, or n if all valid.
inline size_t first_invalid_utf8(const char* data, size_t n) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(data);
  size_t i = 0;
  while (i < n) {
    // 8 ASCII bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      __builtin_memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    size_t prefix = 0;
    size_t len = utf8_sequence_length(p + i, n - i, &prefix);
    if (len == 0) return i;
    i += len;
  }
  return n;
}

inline bool utf8_valid(const char* data, size_t n) { return first_invalid_utf8(data, n) == n; }

// Copies data to out, each maximal invalid subsequence replaced by U+FFFD.
inline void replace_invalid_utf8(const char* data, size_t n, std::string& out) {
  out.clear();
  out.reserve(n + 8);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(data);
  size_t i = 0;
  while (i < n) {
    size_t prefix = 0;
    size_t len = utf8_sequence_length(p + i, n - i, &prefix);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      i += prefix;
    } else {
      out.append(data + i, len);
      i += len;
    }
  }
}

// Decodes one code point from valid UTF-8 (non-ASCII lead byte) and advances p.
inline uint32_t decode_valid_utf8(const uint8_t*& p) {
  const uint8_t b0 = p[0];
  if (b0 < 0xE0) {
    uint32_t cp = ((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    p += 2;
    return cp;
  }
  if (b0 < 0xF0) {
    uint32_t cp = ((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    p += 3;
    return cp;
  }
  uint32_t cp = ((b0 & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
  p += 4;
  return cp;
}

// Code points in valid UTF-8.
inline uint32_t count_chars(const char* data, size_t n) {
  uint32_t count = 0;
  for (size_t i = 0; i < n; ++i) count += (static_cast<uint8_t>(data[i]) & 0xC0) != 0x80;
  return count;
}

}  // namespace maum::tokenizer_detail
