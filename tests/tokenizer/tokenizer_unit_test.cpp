#include <gtest/gtest.h>
TEST(Placeholder, Unit) {}
