#pragma once
// Pieces of pickles as pickle's protocol 2 writes them, for crafting the
// hostile records the pickle reader and the state-dict tests feed dgm.

#include <string>
#include <vector>

namespace dgm::test::pickle {

/// One opcode byte.
inline std::string op(unsigned char code) { return std::string(1, static_cast<char>(code)); }

/// BINUNICODE: 'X', a little-endian 4-byte length, the UTF-8 bytes.
inline std::string text(const std::string& s) {
  std::string out = "X";
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((s.size() >> (8 * i)) & 0xFF));
  return out + s;
}

/// BININT2: 'M' and two little-endian bytes (0 to 65535).
inline std::string int2(int v) { return "M" + op(v & 0xFF) + op((v >> 8) & 0xFF); }

/// MARK, the items, TUPLE.
inline std::string tuple(const std::vector<std::string>& items) {
  std::string out = "(";
  for (const auto& item : items) out += item;
  return out + "t";
}

/// PROTO 2.
inline const std::string kHeader = "\x80\x02";

}  // namespace dgm::test::pickle
