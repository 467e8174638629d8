// Values typed as text (concord/core/text.hpp): the one parser behind `--param`, `--set`,
// `concord compare NAME:K=V` and topology parameters given as deck strings.
#include <gtest/gtest.h>

#include "concord/core/error.hpp"
#include "concord/core/text.hpp"
#include "concord/io/deck.hpp"

namespace {

using concord::InputError;

TEST(Text, IntegersAndRealsAreWholeTokens) {
  EXPECT_EQ(concord::parse_integer("42"), 42);
  EXPECT_EQ(concord::parse_integer(" -7 "), -7);
  EXPECT_EQ(concord::parse_integer("+5"), 5);
  EXPECT_EQ(concord::parse_integer("9223372036854775807"), INT64_MAX);
  for (const char* bad : {"", " ", "1 3", "13x", "1.0", "0x10", "9223372036854775808", "--1", "+"})
    EXPECT_FALSE(concord::parse_integer(bad).has_value()) << bad;
  EXPECT_EQ(concord::parse_real("0.05"), 0.05);
  EXPECT_EQ(concord::parse_real(" 1e-3"), 1e-3);
  EXPECT_EQ(concord::parse_real("-2"), -2.0);
  for (const char* bad : {"", "0.05abc", "1 e3", "inf", "nan", "1e400", "0.5.1"})
    EXPECT_FALSE(concord::parse_real(bad).has_value()) << bad;
}

TEST(Text, ListsAreSplitAtCommasAndNeverMerged) {
  using V = std::vector<std::string>;
  EXPECT_EQ(concord::split_list("1,3,7").items, (V{"1", "3", "7"}));
  EXPECT_EQ(concord::split_list("[1, 3, 7]").items, (V{"1", "3", "7"}));
  EXPECT_EQ(concord::split_list(" [ 1 ,3 ] ").items, (V{"1", "3"}));
  EXPECT_EQ(concord::split_list("5").items, (V{"5"}));
  EXPECT_TRUE(concord::split_list("[]").items.empty());
  EXPECT_TRUE(concord::split_list("[]").error.empty());
  for (const char* bad : {"1 3", "[1 3]", "2 1", "1,,3", "1,", ",1", "", "[1,3", "1,3]", "[[1],3]"}) {
    const auto list = concord::split_list(bad);
    EXPECT_FALSE(list.error.empty()) << bad;
  }
  EXPECT_NE(concord::split_list("1 3").error.find("'1 3' has a space inside"), std::string::npos);
}

TEST(Text, AssignmentsRefuseRepeatedKeys) {
  const auto m = concord::parse_assignments({"k=2", "eta=0.5"}, "--param");
  EXPECT_EQ(m.at("k"), "2");
  EXPECT_EQ(m.at("eta"), "0.5");
  try {
    concord::parse_assignments({"k=2", "k=3"}, "compare base:k=2:k=3");
    FAIL() << "k given twice was accepted";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "compare base:k=2:k=3: parameter k given twice (k=2 and k=3); give it once");
  }
  EXPECT_THROW(concord::split_assignment("k", "--param"), InputError);
  EXPECT_THROW(concord::split_assignment("=2", "--param"), InputError);
  EXPECT_THROW(concord::split_assignment("a b=2", "--param"), InputError);
  EXPECT_EQ(concord::split_assignment("path=a=b", "--param").second, "a=b");
}

TEST(Text, ShellQuoting) {
  EXPECT_EQ(concord::shell_quote("concord/output/file=run.h5"), "concord/output/file=run.h5");
  EXPECT_EQ(concord::shell_quote("concord/topology/hops=[1, 3]"), "'concord/topology/hops=[1, 3]'");
  EXPECT_EQ(concord::shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(concord::shell_quote(""), "''");
}

TEST(Text, OverridesUseTheSameParser) {
  concord::io::Tree raw = {{"concord", concord::io::Tree::object()}};
  concord::io::apply_override(raw, "concord/topology/hops=[1, 3]");
  EXPECT_EQ(raw["concord"]["topology"]["hops"], concord::io::Tree::array({1, 3}));
  concord::io::apply_override(raw, "concord/topology/hops=1 3");  // a string, refused by the topology
  EXPECT_EQ(raw["concord"]["topology"]["hops"], "1 3");
  concord::io::apply_override(raw, "concord/agents= 16 ");
  EXPECT_EQ(raw["concord"]["agents"], 16);
  concord::io::apply_override(raw, "concord/algorithm/step_size=0.05abc");
  EXPECT_EQ(raw["concord"]["algorithm"]["step_size"], "0.05abc");
  EXPECT_THROW(concord::io::apply_override(raw, "concord/topology/hops=[1 3]"), InputError);
  EXPECT_THROW(concord::io::apply_override(raw, "concord/topology/hops=[1,,3]"), InputError);
}

}  // namespace
