// The page served at GET / (self-contained: no CDN, no external files).
#pragma once

namespace maum::server {
extern const char* const kWebPage;
}
