// Input decks: Teuchos YAML/XML parsing, validation against the declared parameters (each kind of
// bad input gets one message naming the path), --set overrides, the validated deck's YAML round
// trip, restart comparisons and the generated reference.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

#include "concord/core/error.hpp"
#include "concord/io/deck.hpp"

namespace {

using concord::InputError;
using concord::io::Tree;

const std::string kDeck = R"(concord:
  seed: 3
  agents: 16
  topology:  { name: ring }
  problem:
    name: least_squares
    data: { source: synthetic, samples_per_agent: 50, dimension: 10, heterogeneity: 1.0 }
  algorithm: { name: gradient_tracking, step_size: 0.05, iterations: 1000, batch_size: 0 }
  output:    { file: run.h5, log_every: 10, checkpoint_every: 100, snapshot_every: 0 }
)";

Tree parse(const std::string& text) { return concord::io::parse_deck(text, "test.yaml", concord::io::DeckFormat::yaml); }

/// The message of the InputError `f` throws ("" when it throws nothing).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string validation_error(const std::string& assignment) {
  return error_of([&] {
    Tree raw = parse(kDeck);
    concord::io::apply_override(raw, assignment);
    concord::io::validate_deck(raw);
  });
}

TEST(Deck, GoodDeckIsValidatedWithDefaultsFilledIn) {
  const auto deck = concord::io::validate_deck(parse(kDeck));
  EXPECT_EQ(deck.integer("seed"), 3);
  EXPECT_EQ(deck.integer("agents"), 16);
  EXPECT_EQ(deck.text("topology/name"), "ring");
  EXPECT_EQ(deck.integer("problem/data/samples_per_agent"), 50);
  EXPECT_DOUBLE_EQ(deck.real("problem/data/heterogeneity"), 1.0);
  EXPECT_DOUBLE_EQ(deck.real("problem/data/noise"), 0.1);  // default
  EXPECT_EQ(deck.text("algorithm/variant"), "atc");         // default, applies to gradient tracking
  EXPECT_DOUBLE_EQ(deck.real("algorithm/step_size"), 0.05);
  EXPECT_EQ(deck.integer("output/checkpoint_every"), 100);
  EXPECT_FALSE(deck.boolean("output/overwrite"));
  EXPECT_EQ(deck.text("parallel/transport"), "automatic");
  // Parameters of other choices are absent, not filled in.
  EXPECT_FALSE(deck.has("algorithm/period"));
  EXPECT_FALSE(deck.has("problem/hidden"));
  EXPECT_FALSE(deck.has("problem/data/classes"));
  EXPECT_FALSE(deck.has("problem/data/partition"));  // synthetic least squares: one block per agent
}

TEST(Deck, IntegersAreAcceptedForReals) {
  Tree raw = parse(kDeck);
  concord::io::apply_override(raw, "concord/algorithm/step_size=1");
  const auto deck = concord::io::validate_deck(raw);
  EXPECT_TRUE(deck.at("algorithm/step_size").is_number_float());
  EXPECT_DOUBLE_EQ(deck.real("algorithm/step_size"), 1.0);
}

TEST(Deck, ValidatedYamlReadsBackToTheSameDeck) {
  for (const char* set : {"concord/algorithm/step_size=0.1", "concord/problem/data/heterogeneity=0.30000000000000004",
                          "concord/topology/name=equi_static", "concord/output/file=a: b.h5"}) {
    Tree raw = parse(kDeck);
    concord::io::apply_override(raw, set);
    if (std::string(set).find("equi_static") != std::string::npos)
      concord::io::apply_override(raw, "concord/topology/hops=[1, 3, 5]");
    const auto deck = concord::io::validate_deck(raw);
    const auto again = concord::io::validate_deck(parse(deck.yaml()));
    EXPECT_EQ(again.tree(), deck.tree()) << set << "\n" << deck.yaml();
  }
}

TEST(Deck, XmlDeckEqualsYamlDeck) {
  const std::string xml = R"(<ParameterList name="concord">
  <Parameter name="seed" type="int" value="3"/>
  <Parameter name="agents" type="int" value="16"/>
  <ParameterList name="topology"><Parameter name="name" type="string" value="ring"/></ParameterList>
  <ParameterList name="problem">
    <Parameter name="name" type="string" value="least_squares"/>
    <ParameterList name="data">
      <Parameter name="source" type="string" value="synthetic"/>
      <Parameter name="samples_per_agent" type="int" value="50"/>
      <Parameter name="dimension" type="int" value="10"/>
      <Parameter name="heterogeneity" type="double" value="1.0"/>
    </ParameterList>
  </ParameterList>
  <ParameterList name="algorithm">
    <Parameter name="name" type="string" value="gradient_tracking"/>
    <Parameter name="step_size" type="double" value="0.05"/>
    <Parameter name="iterations" type="int" value="1000"/>
    <Parameter name="batch_size" type="int" value="0"/>
  </ParameterList>
  <ParameterList name="output">
    <Parameter name="file" type="string" value="run.h5"/>
    <Parameter name="log_every" type="int" value="10"/>
    <Parameter name="checkpoint_every" type="int" value="100"/>
    <Parameter name="snapshot_every" type="int" value="0"/>
  </ParameterList>
</ParameterList>)";
  const auto from_xml = concord::io::validate_deck(concord::io::parse_deck(xml, "t.xml", concord::io::DeckFormat::xml));
  EXPECT_EQ(from_xml.tree(), concord::io::validate_deck(parse(kDeck)).tree());
  EXPECT_NE(error_of([] {
              concord::io::parse_deck("<ParameterList name=\"run\"></ParameterList>", "t.xml", concord::io::DeckFormat::xml);
            }).find("must be named \"concord\""),
            std::string::npos);
}

TEST(Deck, MisspelledKeyNamesThePathAndTheClosestKey) {
  const auto m = validation_error("concord/algorithm/step_sise=0.1");
  EXPECT_NE(m.find("concord/algorithm/step_sise: unknown parameter"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'step_size'?"), std::string::npos) << m;
  EXPECT_NE(m.find("valid keys in concord/algorithm:"), std::string::npos) << m;
  // A misspelled required key is reported as misspelled, not as missing.
  const auto agents = error_of([] {
    std::string text = kDeck;
    text.replace(text.find("agents"), 6, "agnets");
    concord::io::validate_deck(parse(text));
  });
  EXPECT_NE(agents.find("concord/agnets: unknown parameter (did you mean 'agents'?)"), std::string::npos) << agents;
  // Nothing close: no suggestion.
  EXPECT_EQ(validation_error("concord/output/zzzzzzzzzz=1").find("did you mean"), std::string::npos);
}

TEST(Deck, WrongTypesAreNamed) {
  EXPECT_NE(validation_error("concord/agents=x").find("concord/agents: expected an integer, got a string 'x'"),
            std::string::npos);
  EXPECT_NE(validation_error("concord/agents=2.5").find("concord/agents: expected an integer, got a real number 2.5"),
            std::string::npos);
  EXPECT_NE(validation_error("concord/output/overwrite=1").find("concord/output/overwrite: expected true or false"),
            std::string::npos);
  EXPECT_NE(validation_error("concord/algorithm/step_size=fast").find("concord/algorithm/step_size: expected a real"),
            std::string::npos);
  EXPECT_NE(validation_error("concord/algorithm=3").find("concord/algorithm: expected a parameter list"),
            std::string::npos);
}

TEST(Deck, ValuesOutOfRangeAreNamedWithTheRange) {
  EXPECT_NE(validation_error("concord/algorithm/step_size=0").find("concord/algorithm/step_size: 0 is out of range; allowed: > 0"),
            std::string::npos);
  EXPECT_NE(validation_error("concord/agents=0").find("concord/agents: 0 is out of range; allowed: >= 1"),
            std::string::npos);
  EXPECT_NE(validation_error("concord/output/log_every=-5").find("concord/output/log_every: -5 is out of range"),
            std::string::npos);
  auto decay = [](const std::string& v) {
    return error_of([&] {
      Tree raw = parse(kDeck);
      concord::io::apply_override(raw, "concord/algorithm/schedule=step");
      concord::io::apply_override(raw, "concord/algorithm/decay_factor=" + v);
      concord::io::validate_deck(raw);
    });
  };
  EXPECT_NE(decay("1.5").find("allowed: > 0, <= 1"), std::string::npos) << decay("1.5");
  EXPECT_EQ(decay("0.5"), "");
}

TEST(Deck, UnknownNamesSuggestTheClosest) {
  const auto m = validation_error("concord/topology/name=rng");
  EXPECT_NE(m.find("concord/topology/name: unknown value 'rng' (did you mean 'ring'?); allowed: ring, grid"),
            std::string::npos)
      << m;
  EXPECT_NE(validation_error("concord/algorithm/name=gradient_traking").find("did you mean 'gradient_tracking'?"),
            std::string::npos);
  EXPECT_NE(validation_error("concord/problem/data/source=hdf6").find("did you mean 'hdf5'?"), std::string::npos);
}

TEST(Deck, MissingRequiredParametersAreNamed) {
  auto without = [](const std::string& key) {
    return error_of([&] {
      Tree raw = parse(kDeck);
      raw["concord"]["algorithm"].erase(key);
      concord::io::validate_deck(raw);
    });
  };
  EXPECT_NE(without("iterations").find("concord/algorithm/iterations: missing required parameter"), std::string::npos);
  EXPECT_NE(without("step_size").find("concord/algorithm/step_size: missing required parameter"), std::string::npos);
  const auto file = validation_error("concord/problem/data/source=hdf5");
  EXPECT_NE(file.find("concord/problem/data/file: missing required parameter (the training file)"), std::string::npos)
      << file;
  const auto given = error_of([] {
    Tree raw = parse(kDeck);
    concord::io::apply_override(raw, "concord/problem/data/source=hdf5");
    concord::io::apply_override(raw, "concord/problem/data/file=train.h5");
    concord::io::validate_deck(raw);
  });
  EXPECT_NE(given.find("concord/problem/data/samples_per_agent: does not apply here; it is used only when "
                       "concord/problem/data/source is synthetic"),
            std::string::npos)
      << given;
}

TEST(Deck, ParametersOfOtherChoicesAreRefusedWithWhereTheyApply) {
  const auto m = validation_error("concord/problem/hidden=[3]");
  EXPECT_NE(m.find("concord/problem/hidden: does not apply here; it is used only when concord/problem/name is mlp"),
            std::string::npos)
      << m;
  const auto k = validation_error("concord/topology/k=2");
  EXPECT_NE(k.find("concord/topology/k: does not apply here"), std::string::npos) << k;
  EXPECT_NE(k.find("base"), std::string::npos) << k;
}

TEST(Deck, TopLevelAndSyntaxErrors) {
  EXPECT_NE(error_of([] { parse("concord:\n  seed: 1\nother:\n  a: 1\n"); })
                .find("exactly one top-level list, `concord:` (found concord, other)"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse("run:\n  seed: 1\n"); }).find("(found run)"), std::string::npos);
  EXPECT_NE(error_of([] { parse("concord:\n  seed: [1, 2\n"); }).find("test.yaml: line 3: not valid YAML"), std::string::npos);
  EXPECT_NE(error_of([] { concord::io::read_deck_file("/nonexistent/deck.yaml"); }).find("cannot be read"),
            std::string::npos);
}

TEST(Deck, OverridesParseScalarsAndLists) {
  Tree raw = parse(kDeck);
  concord::io::apply_override(raw, "concord/topology/name=equi_static");
  concord::io::apply_override(raw, "concord/topology/hops=[1, 2, 4]");
  concord::io::apply_override(raw, "concord/output/overwrite=true");
  concord::io::apply_override(raw, "concord/output/file=\"out 1.h5\"");
  const auto deck = concord::io::validate_deck(raw);
  EXPECT_EQ(deck.at("topology/hops"), Tree::array({1, 2, 4}));
  EXPECT_TRUE(deck.boolean("output/overwrite"));
  EXPECT_EQ(deck.text("output/file"), "out 1.h5");
  EXPECT_NE(error_of([&] { concord::io::apply_override(raw, "algorithm/step_size=1"); }).find("must start with concord/"),
            std::string::npos);
  EXPECT_NE(error_of([&] { concord::io::apply_override(raw, "concord/algorithm/step_size"); }).find("PATH=VALUE"),
            std::string::npos);
}

TEST(Deck, RestartComparisonIgnoresOnlyWhatMayChange) {
  const auto base = concord::io::validate_deck(parse(kDeck));
  auto changed = [&](std::initializer_list<const char*> sets) {
    Tree raw = parse(kDeck);
    for (const char* s : sets) concord::io::apply_override(raw, s);
    return concord::io::restart_differences(base.tree(), concord::io::validate_deck(raw).tree());
  };
  EXPECT_TRUE(changed({"concord/algorithm/iterations=5000", "concord/output/file=other.h5",
                       "concord/parallel/transport=mpi"})
                  .empty());
  const auto d = changed({"concord/agents=32", "concord/algorithm/step_size=0.1"});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "concord/agents: 16 in the checkpoint, 32 in the deck");
  EXPECT_EQ(d[1], "concord/algorithm/step_size: 0.05 in the checkpoint, 0.1 in the deck");
  const auto v = changed({"concord/algorithm/variant=cta"});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], "concord/algorithm/variant: atc in the checkpoint, cta in the deck");
}

TEST(Deck, ReferenceListsEveryDeclaredParameter) {
  const std::string md = concord::io::deck_reference_markdown();
  std::size_t count = 0;
  std::function<void(const concord::io::Section&, const std::string&)> walk = [&](const concord::io::Section& s,
                                                                                   const std::string& path) {
    EXPECT_NE(md.find("## `" + path + "`"), std::string::npos) << path;
    for (const auto& p : s.params) {
      EXPECT_NE(md.find("| `" + p.key + "` |"), std::string::npos) << path << "/" << p.key;
      ++count;
    }
    for (const auto& sub : s.sections) walk(sub, path + "/" + sub.key);
  };
  walk(concord::io::deck_schema(), "concord");
  EXPECT_GT(count, 40u);
}

// ---------------------------------------------------------------------------------------------
// Hostile decks: every refusal is one line naming the deck, the line and the key where known.
// ---------------------------------------------------------------------------------------------

Tree parse_xml(const std::string& text) {
  return concord::io::parse_deck(text, "t.xml", concord::io::DeckFormat::xml);
}

/// The InputError of parsing `text`, which must be one line of at most 400 characters.
std::string one_line_error(const std::string& text, concord::io::DeckFormat format) {
  const std::string m = error_of([&] {
    const auto raw = concord::io::parse_deck(text, format == concord::io::DeckFormat::xml ? "t.xml" : "test.yaml", format);
    concord::io::validate_deck(raw);
  });
  EXPECT_FALSE(m.empty()) << "accepted: " << text.substr(0, 200);
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_LE(m.size(), 400u) << m.substr(0, 500);
  EXPECT_EQ(m.find(".cpp"), std::string::npos) << m;
  EXPECT_EQ(m.find("Throw"), std::string::npos) << m;
  return m;
}

std::string xml_deck(const std::string& algorithm_body) {
  return "<ParameterList name=\"concord\">\n  <Parameter name=\"agents\" type=\"int\" value=\"4\"/>\n"
         "  <ParameterList name=\"algorithm\">\n" + algorithm_body + "  </ParameterList>\n</ParameterList>\n";
}

TEST(HostileDeck, XmlValuesMustBeWholeTokensOfTheirType) {
  auto m = one_line_error(xml_deck("    <Parameter name=\"step_size\" type=\"double\" value=\"0.05abc\"/>\n"),
                          concord::io::DeckFormat::xml);
  EXPECT_EQ(m, "t.xml: line 4: concord/algorithm/step_size: '0.05abc' is not a finite real number (type \"double\")");
  m = one_line_error(xml_deck("    <Parameter name=\"iterations\" type=\"int\" value=\"10 20\"/>\n"),
                     concord::io::DeckFormat::xml);
  EXPECT_NE(m.find("line 4: concord/algorithm/iterations: '10 20' is not an integer"), std::string::npos) << m;
  m = one_line_error(xml_deck("    <Parameter name=\"iterations\" type=\"int\" value=\"4294967297\"/>\n"),
                     concord::io::DeckFormat::xml);
  EXPECT_NE(m.find("does not fit type \"int\""), std::string::npos) << m;
  m = one_line_error(xml_deck("    <Parameter name=\"time\" type=\"bool\" value=\"truly\"/>\n"), concord::io::DeckFormat::xml);
  EXPECT_NE(m.find("is not a boolean"), std::string::npos) << m;
  m = one_line_error(xml_deck("    <Parameter name=\"h\" type=\"Array(int)\" value=\"{1, 2x}\"/>\n"),
                     concord::io::DeckFormat::xml);
  EXPECT_NE(m.find("has an entry that is not an integer"), std::string::npos) << m;
  m = one_line_error(xml_deck("    <Parameter name=\"h\" type=\"float\" value=\"1\"/>\n"), concord::io::DeckFormat::xml);
  EXPECT_NE(m.find("unsupported type \"float\""), std::string::npos) << m;
  // Whole tokens are read as before (surrounding blanks allowed).
  const auto raw = parse_xml(xml_deck("    <Parameter name=\"step_size\" type=\"double\" value=\" 0.05 \"/>\n"));
  EXPECT_DOUBLE_EQ(raw["concord"]["algorithm"]["step_size"].get<double>(), 0.05);
}

TEST(HostileDeck, KeysGivenTwiceAreRefusedInBothFormats) {
  auto m = one_line_error(xml_deck("    <Parameter name=\"step_size\" type=\"double\" value=\"0.05\"/>\n"
                                   "    <Parameter name=\"step_size\" type=\"double\" value=\"0.1\"/>\n"),
                          concord::io::DeckFormat::xml);
  EXPECT_EQ(m, "t.xml: line 5: concord/algorithm/step_size: given twice in one list (first at line 4); each key "
               "appears once");
  m = one_line_error("concord:\n  seed: 1\n  algorithm:\n    name: dsgd\n    name: gossip\n", concord::io::DeckFormat::yaml);
  EXPECT_EQ(m, "test.yaml: line 5: concord/algorithm/name: given twice in one list (first at line 4); each key "
               "appears once");
  m = one_line_error("concord:\n  topology: {name: ring, name: star}\n", concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("test.yaml: line 2: concord/topology/name: given twice"), std::string::npos) << m;
  // The same key in different lists is fine.
  EXPECT_NO_THROW(parse("concord:\n  problem:\n    name: mlp\n  algorithm:\n    name: dsgd\n"));
}

TEST(HostileDeck, DeepNestingIsRefusedBeforeTeuchos) {
  std::string xml = "<ParameterList name=\"concord\">\n";
  for (int k = 0; k < 20000; ++k) xml += "<ParameterList name=\"a\">\n";
  for (int k = 0; k < 20000; ++k) xml += "</ParameterList>\n";
  xml += "</ParameterList>\n";
  auto m = one_line_error(xml, concord::io::DeckFormat::xml);
  EXPECT_EQ(m, "t.xml: line 17: elements nested 17 deep; a deck nests at most 16 levels");
  std::string yaml = "concord:\n  a: ";
  for (int k = 0; k < 500; ++k) yaml += "{b: ";
  yaml += "1" + std::string(500, '}') + "\n";
  m = one_line_error(yaml, concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("test.yaml: line 2: lists nested 17 deep"), std::string::npos) << m;
  yaml = "concord:\n";
  for (int k = 1; k < 30; ++k) yaml += std::string(2 * k, ' ') + "k" + std::to_string(k) + ":\n";
  m = one_line_error(yaml, concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("test.yaml: line 17: lists nested 17 deep"), std::string::npos) << m;
}

TEST(HostileDeck, TeuchosMessagesBecomeOneLine) {
  auto m = one_line_error("concord: ~\n", concord::io::DeckFormat::yaml);
  EXPECT_EQ(m, "test.yaml: line 1: concord: expected a parameter list (`concord:` followed by indented keys), got '~'");
  m = one_line_error("concord:\n  seed: [1, 2\n", concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("test.yaml: line 3: not valid YAML"), std::string::npos) << m;
  m = one_line_error("concord:\n  agents: \"4\n", concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("line 3: not valid YAML for a Teuchos ParameterList (column 1: "), std::string::npos) << m;
  m = one_line_error("concord:\n  agents: !!int 4294967297\n", concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("line 2: a YAML tag"), std::string::npos) << m;
  m = one_line_error("<ParameterList name=\"concord\">\n  <Parameter name=\"a\" type=\"int\" value=\"1\">\n</ParameterList>\n",
                     concord::io::DeckFormat::xml);
  EXPECT_NE(m.find("t.xml: line 3: </ParameterList> closes <Parameter> opened at line 2"), std::string::npos) << m;
}

TEST(HostileDeck, SizeDepthAndValueLengthAreBoundedAndQuotedShort) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  // 1 MB in one string value, on one line and folded over many.
  auto m = one_line_error("concord:\n  agents: 4\n  output: {file: \"" + std::string(1000000, 'x') + "\"}\n",
                          concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("line 3: a line longer than 4096 characters"), std::string::npos) << m;
  std::string folded = "concord:\n  agents: 4\n  output:\n    file: >\n";
  for (int k = 0; k < 2000; ++k) folded += "      xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
  m = one_line_error(folded, concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("a value longer than 4096 characters"), std::string::npos) << m;
  std::string wide = "concord:\n";
  for (int k = 0; k < 50000; ++k) wide += "  k" + std::to_string(k) + ": 1\n";
  m = one_line_error(wide, concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("line 1001: more than 1000 keys"), std::string::npos) << m;
  m = one_line_error("concord:\n" + std::string(2 << 20, '#') + "\n", concord::io::DeckFormat::yaml);
  EXPECT_NE(m.find("test.yaml: 2097162 bytes; a deck is at most 1048576 bytes"), std::string::npos) << m;
  EXPECT_LT(std::chrono::duration<double>(clock::now() - t0).count(), 5.0);
  // Values in messages: at most 60 characters, then "...".
  const std::string long_name(3000, 'r');
  m = validation_error("concord/topology/name=" + long_name);
  EXPECT_NE(m.find("unknown value '" + std::string(60, 'r') + "...'"), std::string::npos) << m;
  EXPECT_LT(m.size(), 400u) << m;
  m = validation_error("concord/" + long_name + "=1");
  EXPECT_LT(m.size(), 400u) << m;
  m = validation_error("concord/algorithm/step_size=" + long_name);
  EXPECT_LT(m.size(), 400u) << m;
  m = error_of([&] { parse("concord:\n  agents: 4\n  output: {file: [" + std::string(4000, '1') + "]}\n"); });
  EXPECT_LT(m.size(), 400u) << m;
}

TEST(HostileDeck, IntegersNeverNarrow) {
  EXPECT_NE(validation_error("concord/agents=4294967297")
                .find("concord/agents: 4294967297 is out of range; allowed: >= 1, <= 2147483647"),
            std::string::npos);
  EXPECT_NE(validation_error("concord/agents=2147483648").find("is out of range"), std::string::npos);
  EXPECT_EQ(validation_error("concord/agents=2147483647"), "");
  EXPECT_NE(validation_error("concord/problem/data/dimension=4294967298").find("<= 2147483647"), std::string::npos);
  EXPECT_NE(validation_error("concord/algorithm/batch_size=2147483648").find("is out of range"), std::string::npos);
  EXPECT_NE(validation_error("concord/algorithm/iterations=1000000000001").find("<= 1000000000000"), std::string::npos);
  EXPECT_NE(validation_error("concord/seed=9223372036854775807").find("<= 9007199254740991"), std::string::npos);
  EXPECT_NE(validation_error("concord/agents=9223372036854775808").find("expected an integer"), std::string::npos);
  const auto hidden = error_of([] {
    Tree raw = parse(kDeck);
    concord::io::apply_override(raw, "concord/problem/name=mlp");
    concord::io::apply_override(raw, "concord/problem/hidden=[8, 4294967297]");
    raw["concord"]["problem"].erase("data");
    concord::io::validate_deck(raw);
  });
  EXPECT_NE(hidden.find("concord/problem/hidden: 4294967297 is out of range; allowed: >= 1, <= 2147483647"),
            std::string::npos)
      << hidden;
  // Beyond int64 in YAML: a real, refused as such; never a wrapped integer.
  const auto big = error_of([] { concord::io::validate_deck(parse("concord:\n  agents: 18446744073709551617\n")); });
  EXPECT_NE(big.find("concord/agents: expected an integer, got a real number"), std::string::npos) << big;
  // Every integer parameter has an upper bound, stated in the reference.
  std::function<void(const concord::io::Section&)> walk = [&](const concord::io::Section& s) {
    for (const auto& p : s.params)
      if (p.type == concord::io::ParamType::integer || p.type == concord::io::ParamType::integer_list) {
        ASSERT_TRUE(p.max.has_value()) << p.key;
        EXPECT_LE(*p.max, 9007199254740991.0) << p.key;
      }
    for (const auto& sub : s.sections) walk(sub);
  };
  walk(concord::io::deck_schema());
  EXPECT_NE(concord::io::deck_reference_markdown().find("| >= 1, <= 2147483647 |"), std::string::npos);
}

}  // namespace
