package chat

import (
	"testing"
)

// jinjaCases exercise Jinja features beyond what the 29 fixture templates
// use (other llama.cpp templates need some of them). Every expected value was
// produced by Jinja2 3.1.6 in transformers' environment
// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
// json.dumps tojson, clock fixed at 2024-07-26 00:00).
var jinjaCases = []struct {
	name, src, vars string
	want            string
	errType, errMsg string // when Python raised; errMsg must match for raise_exception only
}{
	{name: "break_continue", src: "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", vars: "{}", want: "0134"},
	{name: "for_else", src: "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}|{% for x in xs if x > 5 %}{{ x }}{% else %}none{% endfor %}", vars: "{\"xs\": [1, 2]}", want: "empty|none"},
	{name: "loop_vars", src: "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.length }}{{ loop.first }}{{ loop.last }}{{ loop.cycle('o', 'e') }}{{ loop.previtem }}{{ loop.nextitem }};{% endfor %}", vars: "{}", want: "10323TrueFalseob;21213FalseFalseeac;32103FalseTrueob;"},
	{name: "loop_filter_counts", src: "{% for x in xs if x is odd %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% endfor %}", vars: "{\"xs\": [1,2,3,4,5]}", want: "1/3:1 2/3:3 3/3:5 "},
	{name: "nested_loop_scope", src: "{% set x = 1 %}{% for i in [1,2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}{% if true %}{% set x = 9 %}{% endif %}{{ x }}", vars: "{}", want: "2319"},
	{name: "tuple_unpack", src: "{% for a, b in [[1, 2], (3, 4)] %}{{ a }}-{{ b }} {% endfor %}{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}{% for k, v in d|items %}{{ k }}{% endfor %}", vars: "{\"d\": {\"z\": 1, \"a\": [2, \"x\"]}}", want: "1-2 3-4 z=1,a=[2, 'x'],za"},
	{name: "filter_block", src: "{% filter upper %}hello {{ name }}{% endfilter %}|{% filter trim|lower %}  ABC  {% endfilter %}", vars: "{\"name\": \"bob\"}", want: "HELLO BOB|abc"},
	{name: "set_block", src: "{% set x | trim %}  padded {{ 1 + 2 }}  {% endset %}[{{ x }}]{% set y %}a{% endset %}{{ y ~ y }}", vars: "{}", want: "[padded 3]aa"},
	{name: "lower_sort_int", src: "{{ 'AbC'|lower }} {{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ [3,1,2]|sort(reverse=true) }} {{ '42'|int + 1 }} {{ '3.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 4.9|int }} {{ '0x1A'|int(0, 16) }}", vars: "{}", want: "abc [1, 2, 3] ['A', 'b', 'c'] ['A', 'b', 'c'] [3, 2, 1] 43 3 0 7 4 26"},
	{name: "rejectattr", src: "{{ xs|rejectattr('a')|list }} {{ xs|selectattr('a')|map(attribute='b')|list }} {{ xs|rejectattr('b', 'equalto', 2)|list|length }}", vars: "{\"xs\": [{\"a\": true, \"b\": 1}, {\"a\": false, \"b\": 2}, {\"b\": 3}]}", want: "[{'a': False, 'b': 2}, {'b': 3}] [1] 2"},
	{name: "is_number", src: "{{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ '1' is number }} {{ none is number }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is integer }}", vars: "{}", want: "True True True False False True True False"},
	{name: "str_format", src: "{{ '{} and {}'.format('a', 1) }} {{ '{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='hi') }} {{ '{{literal}}'.format() }} {{ '%s-%d' % ('a', 3) }} {{ '%s' % none }}", vars: "{}", want: "a and 1 yx hi! {literal} a-3 None"},
	{name: "ws_lstrip_comment", src: "a\n  {# comment #}\nb\n    {% if true %}\n  c\n    {% endif %}\nd", vars: "{}", want: "a\nb\n  c\nd"},
	{name: "ws_plus_minus", src: "a  {%+ if true %}x{% endif %}  \n  {%- if true -%}  y  {%- endif %}\n{{ 'z' }}  \n{{- 'w' -}}  \n!", vars: "{}", want: "a  xyzw!"},
	{name: "ws_var_no_lstrip", src: "line\n    {{ 'v' }}\n  {% set q = 1 %}\nend\n", vars: "{}", want: "line\n    v\nend"},
	{name: "ws_trailing_newlines", src: "x\n\n", vars: "{}", want: "x\n"},
	{name: "ws_block_end_newline", src: "{% if true %}\nA{% endif %}\n\nB{# c #}\nC{%- if true +%}\nD{% endif %}", vars: "{}", want: "A\nBC\nD"},
	{name: "tojson_variants", src: "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ d|tojson(sort_keys=true) }}|{{ d|tojson(ensure_ascii=true) }}|{{ [] |tojson(indent=4) }}|{{ {}|tojson }}|{{ d|tojson(separators=(',', ':')) }}|{{ 'a<b>&\\'\"\\n\\t\\u0001'|tojson }}", vars: "{\"d\": {\"b\": [1, 2.5, {\"x\": null}], \"a\": \"°中🌍\", \"c\": true, \"e\": {}, \"f\": []}}", want: "{\"b\": [1, 2.5, {\"x\": null}], \"a\": \"°中🌍\", \"c\": true, \"e\": {}, \"f\": []}|{\n  \"b\": [\n    1,\n    2.5,\n    {\n      \"x\": null\n    }\n  ],\n  \"a\": \"°中🌍\",\n  \"c\": true,\n  \"e\": {},\n  \"f\": []\n}|{\"a\": \"°中🌍\", \"b\": [1, 2.5, {\"x\": null}], \"c\": true, \"e\": {}, \"f\": []}|{\"b\": [1, 2.5, {\"x\": null}], \"a\": \"\\u00b0\\u4e2d\\ud83c\\udf0d\", \"c\": true, \"e\": {}, \"f\": []}|[]|{}|{\"b\":[1,2.5,{\"x\":null}],\"a\":\"°中🌍\",\"c\":true,\"e\":{},\"f\":[]}|\"a<b>&'\\\"\\n\\t\\u0001\""},
	{name: "repr", src: "{{ [1, 'a', none, true, 1.5, {'k': \"it's\"}, ('t',), (1, 2), [], {}] }} {{ {'a': {'b': [\"q\\\"\", 'x\\ny']}} }} {{ 'x'|string }} {{ 1e20 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1/3 }} {{ 10/2 }} {{ 2**10 }} {{ 7//2 }} {{ -7//2 }} {{ -7 % 3 }} {{ 7.5 % 2 }}", vars: "{}", want: "[1, 'a', None, True, 1.5, {'k': \"it's\"}, ('t',), (1, 2), [], {}] {'a': {'b': ['q\"', 'x\\ny']}} x 1e+20 0.0001 1e-05 0.3333333333333333 5.0 1024 3 -4 2 1.5"},
	{name: "slices", src: "{{ s[1:] }} {{ s[:-1] }} {{ s[::-1] }} {{ s[::2] }} {{ s[-2:] }} {{ s[5:1:-2] }} {{ xs[1:3] }} {{ xs[-1] }} {{ xs[::-1] }} {{ s[0] }} {{ s[-1] }} {{ xs[10] }}|{{ (1, 2, 3)[1:] }}", vars: "{\"s\": \"héllo wörld\", \"xs\": [1, 2, 3, 4]}", want: "éllo wörld héllo wörl dlröw olléh hlowrd ld  l [2, 3] 4 [4, 3, 2, 1] h d |(2, 3)"},
	{name: "strings", src: "{{ '  a b  '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} [{{ '  x  '.strip() }}] [{{ 'xxaxx'.strip('x') }}] [{{ ' x '.lstrip() }}] [{{ ' x '.rstrip() }}] {{ 'abc'.startswith('a') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'hello world'|title }} {{ 'hELLO'|capitalize }} {{ 'abc'.upper() }} {{ 'a-b'.find('-') }} {{ 'x'.join(['1', '2']) }} {{ '🌍é'|length }} {{ 'ab' * 3 }} {{ 'a' ~ 1 ~ none }}", vars: "{}", want: "['a', 'b'] ['a', 'b', '', 'c'] ['a', 'b,c'] ['a,b', 'c'] [x] [a] [x ] [ x] True True bba Hello World Hello ABC 1 1x2 2 ababab a1None"},
	{name: "trim_replace_indent", src: "[{{ '  x  '|trim }}] [{{ 'xxaxx'|trim('x') }}] {{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 1) }}\n{{ 'a\\nb\\n\\nc'|indent(2) }}\n{{ 'a\\nb'|indent(2, first=true) }}\n{{ 'a\\n\\nb'|indent('> ', blank=true) }}", vars: "{}", want: "[x] [a] bbb baa\na\n  b\n\n  c\n  a\n  b\na\n> \n> b"},
	{name: "unique_min_max", src: "{{ ['a', 'A', 'b', 'a']|unique|list }} {{ ['a', 'A', 'b']|unique(case_sensitive=true)|list }} {{ ['b', 'A', 'c']|min }} {{ ['b', 'A', 'c']|max }} {{ [3, 1, 2]|min }} {{ xs|min(attribute='v') }}", vars: "{\"xs\": [{\"v\": 3}, {\"v\": 1}]}", want: "['a', 'b'] ['a', 'A', 'b'] A c 1 {'v': 1}"},
	{name: "join_default", src: "{{ xs|join(', ', attribute='n') }} {{ [1, 2]|join }} {{ undefined_var|default('dflt') }} {{ none|default('dflt') }} {{ ''|default('empty', true) }} {{ 0|d(5) }}", vars: "{\"xs\": [{\"n\": \"a\"}, {\"n\": 1}]}", want: "a, 1 12 dflt None empty 0"},
	{name: "dictsort", src: "{{ d|dictsort }} {{ d|dictsort(reverse=true) }} {{ d|dictsort(by='value') }} {{ d|dictsort(true) }}", vars: "{\"d\": {\"b\": 1, \"A\": 3, \"c\": 2}}", want: "[('A', 3), ('b', 1), ('c', 2)] [('c', 2), ('b', 1), ('A', 3)] [('b', 1), ('c', 2), ('A', 3)] [('A', 3), ('b', 1), ('c', 2)]"},
	{name: "map_filters", src: "{{ ['a', 'b']|map('upper')|list }} {{ xs|map(attribute='a', default='-')|list }} {{ [1, 2]|map('string')|join('+') }} {{ none|map('upper')|list }} {{ [' a ']|map('trim')|first }}", vars: "{\"xs\": [{\"a\": 1}, {}]}", want: "['A', 'B'] [1, '-'] 1+2 [] a"},
	{name: "select_tests", src: "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('even')|list }} {{ [1, 2, 3]|select('equalto', 2)|list }} {{ ['a', 1, none]|select('string')|list }} {{ [0, 1, '']|select|list }} {{ [1, 5, 10]|select('gt', 3)|list }} {{ [6, 7]|select('divisibleby', 3)|list }}", vars: "{}", want: "[1, 3] [1, 3] [2] ['a'] [1] [5, 10] [6]"},
	{name: "generators", src: "{% set g = [1, 2]|map('string') %}{{ g|list }}{{ g|list }}|{{ ([1]|select) is iterable }}{{ ([1]|select) is sequence }}|{% if [] | select %}truthy{% endif %}|{{ d.items()|length }}{{ d.keys()|list }}{{ 'a' in d.keys() }}{{ d.values()|list }}", vars: "{\"d\": {\"a\": 1}}", want: "['1', '2'][]|TrueFalse|truthy|1['a']True[1]"},
	{name: "macros", src: "{% macro greet(name, greeting='Hi', punct='!') %}{{ greeting }} {{ name }}{{ punct }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ greet('a') }}|{{ greet('b', punct='?') }}|{{ greet('c', 'Yo', '.', 1, 2) }}|{{ greet('d', extra=1) }}", vars: "{}", want: "Hi a!(){}|Hi b?(){}|Yo c.(1, 2){}|Hi d!(){'extra': 1}"},
	{name: "macro_recursion_call", src: "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}|{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ 1 + 1 }}{% endcall %}", vars: "{}", want: "120|<b>inner 2</b>"},
	{name: "namespace_dict", src: "{% set ns = namespace(a=1, items=[]) %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }} {{ dict(x=1, y='z') }} {{ {1: 'a', 'b': 2}[1] }} {{ {1: 'a'} }} {{ {1: 'a'}|tojson }} {{ 1 in {1: 'a'} }} {{ {True: 'a'}[1] }}", vars: "{}", want: "4 {'x': 1, 'y': 'z'} a {1: 'a'} {\"1\": \"a\"} True a"},
	{name: "operators", src: "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'b' in 'abc' }} {{ 'x' not in ['x'] }} {{ 2 in [1, 2.0] }} {{ not 1 == 2 }} {{ -2|abs }} {{ - 3 + 5 }} {{ 1 if false }}|{{ 'a' if 0 else 'b' }} {{ none or 'x' }} {{ 0 and 1 }} {{ [1] + [2] }} {{ 1 + 1.5 }} {{ true + 1 }} {{ 'a' == 'a' and 1 == 1.0 }} {{ [1, [2]] == [1, [2]] }} {{ {'a': 1} == {'a': 1} }} {{ none is none }} {{ not none is none }} {{ x is not defined }}", vars: "{}", want: "True False True False True True 2 2 |b x 0 [1, 2] 2.5 2 True True True True False True"},
	{name: "undefined_behaviour", src: "[{{ nope }}] {{ nope is defined }} {{ nope|length }} {{ 'a' in nope }} {% for x in nope %}x{% endfor %}{{ nope is iterable }} {{ nope is sequence }} {{ nope|string }} {{ nope|trim }} {{ nope|upper }} {{ d.missing }} {{ d['missing'] }} {{ 'str'.content }} {{ xs[9] }} {{ (nope|default([]))|length }} {{ nope == nope }}", vars: "{\"d\": {}, \"xs\": []}", want: "[] False 0 False True True        0 True"},
	{name: "attr_vs_item", src: "{{ d.items is defined }} {{ d['items'] }} {{ d.get('items') }} {{ d.get('nokey', 'dflt') }} {{ d.get('nokey') }} {{ d.keys()|list }}", vars: "{\"d\": {\"items\": \"KEY\", \"keys\": 1}}", want: "True KEY KEY dflt None ['items', 'keys']"},
	{name: "range_forms", src: "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}", vars: "{}", want: "[0, 1, 2] [1, 2, 3] [5, 3, 1] []"},
	{name: "strftime", src: "{{ strftime_now('%Y-%m-%d %H:%M:%S %a %A %b %B %j %y %p %I') }} {{ strftime_now is defined }}", vars: "{}", want: "2024-07-26 00:00:00 Fri Friday Jul July 208 24 AM 12 True"},
	{name: "none_print", src: "{{ none }} {{ true }} {{ false }} {{ none|string }} {{ none|trim }} {{ [none]|join(',') }} {{ none|tojson }} {{ 1.0 }} {{ -0.5 }} {{ 100000000000000000000.0 }} {{ 12345678901234567.0 }} {{ 1e-7 }}", vars: "{}", want: "None True False None None None null 1.0 -0.5 1e+20 1.2345678901234568e+16 1e-07"},
	{name: "first_last_batch", src: "{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ 'abc'|first }} {{ []|first }}|{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }} {{ [1, 2, 3]|reverse|list }} {{ 'abc'|reverse }} {{ [1, 2, 3]|sum }} {{ 3.14159|round(2) }} {{ 2.5|round }} {{ [1,2]|count }}", vars: "{}", want: "1 3 a |[[1, 2], [3, 4], [5]] [[1, 2], [3, 0]] [3, 2, 1] cba 6 3.14 2.0 2"},
	{name: "with_and_raw", src: "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{% raw %}{{ not parsed }}{% endraw %}", vars: "{}", want: "3{{ not parsed }}"},
	{name: "errors_plus_str_none", src: "{{ 'a' + none }}", vars: "{}", errType: "TypeError", errMsg: "can only concatenate str (not \"NoneType\") to str"},
	{name: "errors_plus_list_str", src: "{{ [1] + 'a' }}", vars: "{}", errType: "TypeError", errMsg: "can only concatenate list (not \"str\") to list"},
	{name: "errors_undefined_attr", src: "{{ nope.attr }}", vars: "{}", errType: "UndefinedError", errMsg: "'nope' is undefined"},
	{name: "errors_undefined_plus", src: "{{ nope + 1 }}", vars: "{}", errType: "UndefinedError", errMsg: "'nope' is undefined"},
	{name: "errors_none_in", src: "{{ 'a' in none }}", vars: "{}", errType: "TypeError", errMsg: "argument of type 'NoneType' is not iterable"},
	{name: "errors_items_non_mapping", src: "{% for k, v in 'ab'|items %}{% endfor %}", vars: "{}", errType: "TypeError", errMsg: "Can only get item pairs from a mapping."},
	{name: "errors_append", src: "{% set xs = [] %}{{ xs.append(1) }}", vars: "{}", errType: "SecurityError", errMsg: "access to attribute 'append' of 'list' object is unsafe."},
	{name: "errors_dict_update", src: "{% set d = {} %}{{ d.update({'a': 1}) }}", vars: "{}", errType: "SecurityError", errMsg: "access to attribute 'update' of 'dict' object is unsafe."},
	{name: "errors_raise", src: "{{ raise_exception('custom ' ~ 42) }}", vars: "{}", errType: "raise_exception", errMsg: "custom 42"},
	{name: "errors_generator_len", src: "{{ [1]|map('string')|length }}", vars: "{}", errType: "TypeError", errMsg: "object of type 'generator' has no len()"},
	{name: "errors_tojson_undefined", src: "{{ nope|tojson }}", vars: "{}", errType: "TypeError", errMsg: "Object of type Undefined is not JSON serializable"},
	{name: "errors_lt_mixed", src: "{{ 1 < 'a' }}", vars: "{}", errType: "TypeError", errMsg: "'<' not supported between instances of 'int' and 'str'"},
	{name: "errors_call_none_method", src: "{{ none.split() }}", vars: "{}", errType: "UndefinedError", errMsg: "'None' has no attribute 'split'"},
	{name: "markup", src: "{{ '<b>'|safe + '<i>' }} {{ '<i>' + '<b>'|safe }} {{ ('<p>%s</p>'|safe) % '&' }} {{ '<x>'|escape }} {{ '<x>'|safe is escaped }} {{ '<x>' is escaped }} {{ '<'|safe ~ '<' }} {{ ('a'|safe) == 'a' }} {{ ['<'|safe] }} {{ ('<'|safe)|length }}", vars: "{}", want: "<b>&lt;i&gt; &lt;i&gt;<b> <p>&amp;</p> &lt;x&gt; True False << True [Markup('<')] 1"},
	{name: "whitespace_unicode", src: "{{ '\\u3000x\\u00a0'|trim }}|{{ 'a\\u2003b'.split() }}|{{ '\\x1cq'.strip() }}", vars: "{}", want: "x|['a', 'b']|q"},
	{name: "ws_comment_minus", src: "a  {#- c -#}  b\n{#- c #}\nc {# x #}  d", vars: "{}", want: "abc   d"},
	{name: "ws_crlf", src: "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", vars: "{}", want: "a\nb\n"},
	{name: "nested_data_tojson_indent_str", src: "{{ d|tojson(indent='\\t') }}", vars: "{\"d\": {\"a\": [1, {\"b\": []}]}}", want: "{\n\t\"a\": [\n\t\t1,\n\t\t{\n\t\t\t\"b\": []\n\t\t}\n\t]\n}"},
	{name: "items_of_none_error_lazy", src: "{% set x = none|items %}ok", vars: "{}", want: "ok"},
	{name: "inline_if_chain", src: "{{ 'a' if x == 1 else 'b' if x == 2 else 'c' }}", vars: "{\"x\": 2}", want: "b"},
	{name: "string_concat_numbers", src: "{{ 1 ~ 2 }} {{ 'n=' ~ 1.5 }} {{ [1] ~ '' }}", vars: "{}", want: "12 n=1.5 [1]"},
	{name: "test_in_and_sameas", src: "{{ 2 is in [1, 2] }} {{ none is sameas none }} {{ true is sameas true }} {{ 'a' is lower }} {{ 'A' is upper }} {{ 'upper' is filter }} {{ 'odd' is test }}", vars: "{}", want: "True True True True True True True"},
	{name: "escape_literal_strings", src: "{{ 'a\\\\b' }} {{ \"it's\" }} {{ 'tab\\there' }} {{ '\\x41\\u00e9\\q' }}", vars: "{}", want: "a\\b it's tab\there Aé\\q"},
	{name: "recursive_loop", src: "{% for n in tree recursive %}[{{ loop.depth }}:{{ n.name }}{% if n.kids %}({{ loop(n.kids) }}){% endif %}]{% endfor %}", vars: "{\"tree\": [{\"name\": \"a\", \"kids\": [{\"name\": \"b\", \"kids\": [{\"name\": \"c\"}]}, {\"name\": \"d\"}]}, {\"name\": \"e\"}]}", want: "[1:a([2:b([3:c])][2:d])][1:e]"},
	{name: "set_tuple_and_scoping_macro", src: "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}{% macro m() %}{% set a = 5 %}{{ a }}{% endmacro %}{{ m() }}{{ a }}", vars: "{}", want: "12(1, 2)51"},
	{name: "loop_in_macro_sees_outer", src: "{% set top = 'T' %}{% macro m(xs) %}{% for x in xs %}{{ top }}{{ x }}{{ loop.index }}{% endfor %}{% endmacro %}{{ m([1, 2]) }}", vars: "{}", want: "T11T22"},
	{name: "loop_changed_depth", src: "{% for x in [1, 1, 2] %}{% for y in 'ab' %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}{% endfor %}", vars: "{}", want: "101010101010"},
	{name: "title_filter_vs_method", src: "{{ d|title }} {{ \"it's o'neil-x (y)\"|title }} {{ \"it's o'neil-x (y)\".title() }}", vars: "{\"d\": {\"ab\": \"cd\"}}", want: "{'ab': 'cd'} It's O'neil-X (Y) It'S O'Neil-X (Y)"},
	{name: "wordcount", src: "{{ 'Hello, Wörld 🌍 a_b 3x'|wordcount }}", vars: "{}", want: "4"},
	{name: "filtered_unpack_previtem", src: "{% for k, v in [[1, 2], [3, 4]] if true %}{{ loop.previtem }}|{% endfor %}", vars: "{}", want: "|(1, 2)|"},
	{name: "percent_mapping_arg", src: "[{{ '' % {'k': 1} }}][{{ 'x' % [] }}][{{ '%s' % [1] }}][{{ '%(a)s' % {'a': 2} if false else 'skip' }}]", vars: "{}", want: "[][x][[1]][skip]"},
	{name: "round_int_and_callable_undefined", src: "{{ 7|round }} {{ 7|round(1) }} {{ 2.675|round(2) }} {{ 1.5|round(method='floor') }} {{ nope is callable }} {{ 1 is callable }}", vars: "{}", want: "7 7 2.67 1.0 True False"},
	{name: "undefined_hashable", src: "{{ nope in {'a': 1} }} {{ [nope, nope]|unique|list|length }}", vars: "{}", want: "False 1"},
	{name: "generator_reverse_and_range", src: "{{ [1, 2]|select|reverse }} {{ range(3) }} {{ range(1, 7, 2) }} {{ range(3)|length }} {{ range(5)[-1] }} {{ range(3) is sequence }} {{ range(3)|list }}", vars: "{}", want: "[2, 1] range(0, 3) range(1, 7, 2) 3 4 True [0, 1, 2]"},
	{name: "tuple_subscript", src: "{{ d[()] }}|{{ d[1, 2] }}", vars: "{\"d\": {}}", want: "|"},
	{name: "sort_undefined_keys", src: "{{ [3, 1, 2]|sort(attribute='nokey') }} {{ ds|sort(attribute='b,a') }}", vars: "{\"ds\": [{\"a\": 2, \"b\": 1}, {\"a\": 1, \"b\": 1}, {\"a\": 0, \"b\": 0}]}", want: "[3, 1, 2] [{'a': 0, 'b': 0}, {'a': 1, 'b': 1}, {'a': 2, 'b': 1}]"},
	{name: "errors_test_extra_arg", src: "{{ 1 is defined 2 }}", vars: "{}", errType: "TypeError", errMsg: "test_defined() takes 1 positional argument but 2 were given"},
	{name: "errors_zero_pow", src: "{{ 0.0 ** -1 }}", vars: "{}", errType: "ZeroDivisionError", errMsg: "0.0 cannot be raised to a negative power"},
	{name: "errors_float_times_list", src: "{{ 2.0 * [1] }}", vars: "{}", errType: "TypeError", errMsg: "can't multiply sequence by non-int of type 'float'"},
	{name: "errors_indent_list", src: "{{ [1]|indent }}", vars: "{}", errType: "AttributeError", errMsg: "'list' object has no attribute 'splitlines'"},
	{name: "errors_indent_int", src: "{{ 5|indent }}", vars: "{}", errType: "TypeError", errMsg: "unsupported operand type(s) for +=: 'int' and 'str'"},
	{name: "errors_int_undefined", src: "{{ nope|int }}", vars: "{}", errType: "UndefinedError", errMsg: "'nope' is undefined"},
	{name: "errors_reverse_bool", src: "{{ true|reverse }}", vars: "{}", errType: "FilterArgumentError", errMsg: "argument must be iterable"},
	{name: "errors_range_tojson", src: "{{ range(2)|tojson }}", vars: "{}", errType: "TypeError", errMsg: "Object of type range is not JSON serializable"},
	{name: "errors_dictsort_list", src: "{{ [1]|dictsort }}", vars: "{}", errType: "AttributeError", errMsg: "'list' object has no attribute 'items'"},
	{name: "errors_in_string_undefined", src: "{{ nope in 'abc' }}", vars: "{}", errType: "TypeError", errMsg: "'in <string>' requires string as left operand, not Undefined"},
	{name: "loop_changed", src: "{% for x in [1, 1, 2, 2, 1] %}{{ loop.changed(x) }},{% endfor %}|{% for x in [1, 2] %}{{ loop.changed() }}{{ loop.changed() }}{% endfor %}", vars: "{}", want: "True,False,True,False,True,|TrueFalseFalseFalse"},
	{name: "generation_tag", src: "a{% generation %}b{{ 1 + 1 }}\n{% endgeneration %}c", vars: "{}", want: "ab2\nc"},
}

func TestJinjaSemantics(t *testing.T) {
	for _, c := range jinjaCases {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := Parse(c.src)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			tmpl.Now = fixedClock
			v, err := ParseJSON([]byte(c.vars))
			if err != nil {
				t.Fatalf("vars: %v", err)
			}
			vars := map[string]any{}
			d := v.(*Dict)
			for _, k := range d.Keys() {
				vars[k], _ = d.Get(k)
			}
			got, err := tmpl.Render(vars)
			if c.errType == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got != c.want {
					t.Fatalf("output differs at byte %d\n got: %q\nwant: %q", firstDiff(got, c.want), got, c.want)
				}
				return
			}
			e, ok := AsError(err)
			if !ok {
				t.Fatalf("got %q, %v; want %s: %s", got, err, c.errType, c.errMsg)
			}
			if e.Type != c.errType || (c.errType == "raise_exception" && e.Msg != c.errMsg) {
				t.Fatalf("got error %s: %s; want %s: %s", e.Type, e.Msg, c.errType, c.errMsg)
			}
		})
	}
}

// mutationCases check AllowMutation (llama.cpp's lenient behaviour); the
// expected values come from Jinja2 3.1.6's SandboxedEnvironment, which
// allows these methods.
var mutationCases = []struct{ name, src, want string }{
	{"ns_queue", "{% set q = namespace(ids=[]) %}{% for i in range(3) %}{% set _ = q.ids.append('id' ~ i) %}{% endfor %}{{ q.ids }} {{ q.ids.pop(0) }} {{ q.ids }} {{ q.ids.pop() }} {{ q.ids }}", "['id0', 'id1', 'id2'] id0 ['id1', 'id2'] id2 ['id1']"},
	{"var_list", "{% set xs = [3, 1] %}{% set _ = xs.extend([2]) %}{% set _ = xs.sort() %}{{ xs }}{% set _ = xs.insert(0, 9) %}{% set _ = xs.remove(1) %}{{ xs }}{% set _ = xs.reverse() %}{{ xs }}", "[1, 2, 3][9, 2, 3][3, 2, 9]"},
	{"dict_mut", "{% set d = {'a': 1} %}{% set _ = d.update({'b': 2}, c=3) %}{{ d }} {{ d.pop('a') }} {{ d.setdefault('z', 0) }} {{ d }}", "{'a': 1, 'b': 2, 'c': 3} 1 0 {'b': 2, 'c': 3, 'z': 0}"},
	{"nested", "{% set d = {'l': []} %}{% set _ = d.l.append(1) %}{% set _ = d['l'].append(2) %}{{ d }}", "{'l': [1, 2]}"},
}

func TestAllowMutation(t *testing.T) {
	for _, c := range mutationCases {
		tmpl, err := Parse(c.src)
		if err != nil {
			t.Fatalf("%s: parse: %v", c.name, err)
		}
		if _, err := tmpl.Render(nil); err == nil {
			t.Errorf("%s: rendered without AllowMutation; want SecurityError", c.name)
		} else if e, _ := AsError(err); e == nil || e.Type != "SecurityError" {
			t.Errorf("%s: error %v, want SecurityError", c.name, err)
		}
		tmpl.AllowMutation = true
		got, err := tmpl.Render(nil)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
