// Package grammar constrains generation to a formal language, so that the
// output is valid by construction: a GBNF grammar (llama.cpp's syntax),
// any JSON object (Ollama's format "json"), or a JSON Schema.
//
// # Design
//
// A Grammar is compiled into a flat program: rules whose alternatives are
// sequences of character classes (sets of codepoints) and rule
// references; groups and repetitions become synthesized rules (x* is a
// right-recursive rule, x{m,n} is m copies followed by nested optionals).
// Left recursion and rules that can never finish are rejected up front.
//
// A Matcher runs the program as a pushdown automaton over the output's
// bytes. Its state is the set of possible parse stacks, each an immutable
// linked list whose top is the next character class to match; a byte that
// completes a UTF-8 codepoint advances every stack whose class contains it.
// Between bytes of a multi-byte character the matcher keeps the partial
// codepoint and drops the byte at once if no class can contain any
// completion (overlong forms and surrogates are refused). Stacks share
// their tails, so Clone and Save/Restore copy only a slice of pointers.
//
// A Vocab holds every token's bytes in a trie (built once per vocabulary,
// ~0.1-0.3 s for 152k tokens). Constraint.Allowed walks the trie with the
// matcher, cutting each subtree at the first byte the grammar refuses, so a
// token that spans several grammar symbols, a byte-fallback token or half
// of a UTF-8 character is judged exactly by its bytes. The walk memoizes
// transitions between the matcher states it meets (compared structurally),
// so a trie node usually costs one table lookup; and the last few
// (state, allowed set) results are cached, so the steady state inside a
// long string costs a copy. EOG tokens are allowed exactly when the output
// is complete. For the cheapest decoding loop, sample without the mask,
// check the sample with TokenAllowed (well under a microsecond for a
// short token), and compute the mask only
// when the sample is refused.
//
// # Front-ends
//
// ParseGBNF: rules, alternation, grouping, * + ? {m} {m,} {m,n}, classes
// with ranges and negation, '.', string literals, escapes (\n \r \t \\ \"
// \xHH \uHHHH \UHHHHHHHH ...), # comments; errors give line and column.
// Not supported: llama.cpp's token references <[id]> / <name> / !<...>.
//
// JSON and FromFormat("json"): a JSON object at the top level. Whitespace
// between tokens is bounded (at most one space, or a newline and 20 tabs
// or spaces) so a model cannot loop on it; numbers have at most 16 integer
// digits, 16 fraction digits and a 2-digit exponent (they always fit a
// float64); raw control characters and DEL in strings are not produced
// (escapes are), nor \u escapes of lone UTF-16 surrogates (a surrogate
// escape comes only as a high-low pair, one character).
//
// FromSchema / FromFormat(schema) / FromResponseFormat: JSON Schema to
// grammar. Supported: type (name or list), properties (written in the
// declared order), required, additionalProperties (false, true or a
// schema; when absent it counts as false if properties are listed, as any
// value otherwise), enum, const, items, minItems, maxItems, nested objects
// and arrays, anyOf, oneOf (as anyOf: exclusivity is not enforced),
// allOf with one schema, $ref to "#", "#/$defs/..." or
// "#/definitions/..." (recursion included), string minLength/maxLength,
// pattern, format uuid, date / time / date-time (RFC 3339 without
// February 29 and leap seconds) and ipv4 / hostname / email / uri
// (conservative subsets: http(s) URIs, dot-atom emails, labels of at most
// 24 characters), integer minimum /
// maximum / exclusiveMinimum / exclusiveMaximum (draft 4 boolean forms
// too; bounds within ±(10^16-1)), and the same four on numbers when the
// bounds are integers (a bounded number is written without exponent and
// with at most 15 significant digits, so a validator that reads numbers
// as float64 never rounds it onto a bound; a number with only
// "minimum": 0 keeps exponents). Annotations
// (title, description, default, examples, $schema, $id, $comment,
// deprecated, readOnly, writeOnly) are ignored. Every other keyword, and
// every unsupported combination (pattern with minLength, a non-integer
// number bound, multipleOf, uniqueItems, prefixItems, patternProperties, minProperties,
// not, if/then/else, remote $ref, other formats, ...), is an error that
// wraps ErrUnsupported: a schema is never enforced partially.
//
// Patterns (regex subset, RE2/ECMAScript syntax): literals, escapes, classes
// with ranges and \d \w \s, \D \W \S outside classes, '.', groups
// (capturing, (?:...), named), alternation, quantifiers * + ? {m} {m,}
// {m,n} (lazy forms accepted; an unbounded repetition of an item that can
// be empty, such as (a?)*, repeats the item's non-empty part, since GBNF
// cannot repeat a nullable item), and ^ / $ at the ends (a $ after an
// escaped backslash is an anchor); an unanchored end matches anything
// there, as JSON Schema requires. Backreferences,
// lookaround, \b, flags and possessive quantifiers are errors.
//
// SchemaToGBNFRule gives a schema's rules under a chosen name, to embed
// several schemas in one grammar (tool calls).
//
// # Known limits
//
// A context-free grammar cannot stop a key of additionalProperties from
// repeating another additional key (declared property names are excluded
// from additional keys, so they never repeat). Property order is fixed to
// the declared order. Property names and enum strings are produced in one
// canonical escaping. Whether every character is reachable depends on
// the vocabulary: a token set with no byte tokens may be unable to spell
// some characters the grammar needs (the fixture vocabularies can spell
// every byte).
package grammar
