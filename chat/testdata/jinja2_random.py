#!/usr/bin/env python3
"""Regenerates jinja2_random.json: random Jinja templates rendered by Jinja2
in transformers' chat-template environment (the reference for package chat).

    python3 chat/testdata/jinja2_random.py > chat/testdata/jinja2_random.json

Needs Python 3.11 and Jinja2 3.1.6 only. Output is deterministic (fixed seeds).
Cases whose output contains a Python object repr with its memory address
(<generator object ... at 0x...>) are left out: they cannot be reproduced.
"""
import copy, datetime, json, random, re, sys

import jinja2, jinja2.ext, jinja2.sandbox
from jinja2 import nodes
from jinja2.ext import Extension


class AssistantTracker(Extension):  # transformers' {% generation %} tag
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def strftime_now(fmt):
    return datetime.datetime(2024, 7, 26, 0, 0, 0).strftime(fmt)


ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
ENV.filters["tojson"] = tojson
ENV.globals["raise_exception"] = raise_exception
ENV.globals["strftime_now"] = strftime_now


def render(src, variables):
    try:
        t = ENV.from_string(src)
    except Exception as ex:
        return {"error_type": "TemplateSyntaxError", "error": str(ex)}
    try:
        return {"expected": t.render(**copy.deepcopy(variables))}
    except jinja2.exceptions.TemplateError as ex:
        if type(ex) is jinja2.exceptions.TemplateError:
            return {"error_type": "raise_exception", "error": ex.message}
        return {"error_type": type(ex).__name__, "error": str(ex)}
    except Exception as ex:
        return {"error_type": type(ex).__name__, "error": str(ex)}


VARS = {"s": "  Hello, Wörld 🌍\t\n", "e": "", "n": 7, "z": 0, "m": -3, "f": 2.5, "g": 1e-5, "t": True, "fl": False, "nn": None,
        "xs": [3, "b", None, 1.5, True, [1, 2], {"k": "v"}], "ns": [5, 2, 9, 2], "ss": ["b", "A", "c", "a"],
        "d": {"b": 1, "a": "x", "items": [1], "n": None, "nested": {"q": [1, {"r": "s"}]}},
        "ds": [{"name": "x", "v": 2, "ok": True}, {"name": "Y", "v": 1, "ok": False}, {"name": "z", "v": 3}],
        "q": "it's \"quoted\" <tag> & \\ back", "x": "X"}
NAMES = [k for k in VARS if k != "x"] + ["undef"]
FILTERS = ["length", "string", "trim", "upper", "lower", "title", "capitalize", "list", "first", "last", "tojson", "tojson(indent=2)", "tojson(sort_keys=true)",
           "join(', ')", "join", "default('D')", "default('D', true)", "items", "dictsort", "sort", "sort(reverse=true)", "unique", "min", "max", "int", "float", "abs",
           "reverse", "sum", "safe", "replace('a', 'X')", "indent(2)", "indent(2, true)", "map('upper')", "map(attribute='name')", "select('odd')", "reject('none')",
           "selectattr('ok')", "rejectattr('v', 'gt', 1)", "selectattr('name', 'equalto', 'x')", "batch(2)", "round(1)", "wordcount", "center(9)", "count", "e",
           "map('string')", "unique(attribute='v')", "join(attribute='name')", "sort(attribute='v')", "trim('H ')", "format(1)"]
TESTS = ["defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "number", "integer", "float", "boolean", "true", "false", "odd", "even",
         "divisibleby(3)", "equalto 7", "in [1, 7]", "lower", "upper", "callable", "sameas none", "gt 2", "le 3"]
METHODS = ["split()", "split(',')", "split(' ', 1)", "rsplit(' ', 1)", "strip()", "lstrip()", "rstrip()", "strip('H ')", "startswith('  H')", "endswith('\\n')",
           "replace('l', 'L')", "upper()", "lower()", "title()", "capitalize()", "find('o')", "count('l')", "splitlines()", "isdigit()", "isspace()", "partition(',')",
           "get('a')", "get('zz', 5)", "items()", "keys()", "values()", "index(2)", "count(2)", "format('X')", "zfill(5)", "join(['1', '2'])", "removeprefix('  ')"]
LITS = ["1", "0", "-2", "2.5", "'a'", "\"b'c\"", "''", "none", "true", "false", "[1, 'x', none]", "[]", "{'k': 1, 'j': [2]}", "{}", "(1,)", "(1, 'z')", "range(4)", "range(1, 9, 3)"]
BIN = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", ">=", "in", "not in", "and", "or", "**"]


def expr(R, depth=0):
    k = R.random()
    if depth > 2 or k < 0.25:
        return R.choice(NAMES) if R.random() < 0.6 else R.choice(LITS)
    if k < 0.40:
        return f"{expr(R, depth+1)}|{R.choice(FILTERS)}"
    if k < 0.50:
        return f"{expr(R, depth+1)} is {R.choice(['', 'not '])}{R.choice(TESTS)}"
    if k < 0.60:
        return f"{R.choice(NAMES)}.{R.choice(METHODS)}"
    if k < 0.75:
        return f"({expr(R, depth+1)} {R.choice(BIN)} {expr(R, depth+1)})"
    if k < 0.82:
        a = R.choice(["", "1", "-1", "-2", "0", "2"]); b = R.choice(["", "-1", "3", "1", "10"]); c = R.choice(["", "", ":-1", ":2", ":-2"])
        return f"{R.choice(NAMES)}[{a}:{b}{c}]"
    if k < 0.88:
        return f"{R.choice(NAMES)}[{R.choice(['0', '-1', '1', '5', repr('a'), repr('items'), repr('nested'), 'n'])}]"
    if k < 0.93:
        return f"({expr(R, depth+1)} if {expr(R, depth+1)} else {expr(R, depth+1)})"
    if k < 0.96:
        return f"not {expr(R, depth+1)}"
    return f"{R.choice(NAMES)}.{R.choice(['a', 'b', 'items', 'name', 'nested', 'q', 'zz'])}"


def stmt(R, depth=0):
    k = R.random()
    if depth > 2 or k < 0.45:
        return R.choice(["{{ %s }}", "{{- %s }}", "{{ %s -}}", " {{ %s }} "]) % expr(R)
    if k < 0.60:
        return "{%% if %s %%}%s{%% elif %s %%}%s{%% else %%}%s{%% endif %%}" % (expr(R), stmt(R, depth+1), expr(R), stmt(R, depth+1), stmt(R, depth+1))
    if k < 0.75:
        tgt = R.choice(["x", "x", "k, v"])
        it = R.choice(["xs", "ns", "ss", "d", "d|items", "ds", "s", "range(3)", "undef", expr(R)]) if tgt == "x" else R.choice(["d|items", "d.items()", "[[1, 2], [3, 4]]", "ds|dictsort"])
        cond = R.choice(["", "", f" if {expr(R)}"])
        body = R.choice(["{{ x }}", "{{ loop.index }}{{ loop.first }}{{ loop.last }}", "{{ loop.previtem }}|{{ loop.nextitem }}", "{{ k }}={{ v }}", stmt(R, depth+1), "{% if loop.index > 2 %}{% break %}{% endif %}{{ loop.revindex }}"])
        return "{%% for %s in %s%s %%}%s{%% else %%}E{%% endfor %%}" % (tgt, it, cond, body)
    if k < 0.85:
        return "{%% set w = %s %%}{{ w }}" % expr(R)
    if k < 0.92:
        return "\n  {%% if %s %%}\n    A\n  {%% endif %%}\n" % expr(R)
    return "{%% macro mm(a, b='B') %%}[{{ a }}{{ b }}]{%% endmacro %%}{{ mm(%s) }}{{ mm(1, b=%s) }}" % (expr(R), expr(R))


TEXT = [" ", "  ", "\n", "\n\n", "\t", " \n ", "a", "b c", "\n  ", "  \n", " x \n", "\u3000", "\r\n"]


def ws_body(R, depth=0):
    def txt():
        return "".join(R.choice(TEXT) for _ in range(R.randint(0, 3)))
    def mod(plus=True):
        return R.choice(["", "", "-", "+"] if plus else ["", "", "-"])
    def block(depth):
        k = R.random()
        if depth > 2 or k < 0.3:
            return "{{%s %s %s}}" % (mod(False), R.choice(["'v'", "x", "' s '", "n"]), mod(False))
        if k < 0.45:
            return "{#%s c %s#}" % (mod(False), mod(False))
        if k < 0.7:
            return "{%%%s if %s %s%%}%s%s%s{%%%s else %s%%}%s{%%%s endif %s%%}" % (mod(), R.choice(["x", "n", "t"]), mod(), txt(), ws_body(R, depth+1), txt(), mod(), mod(), ws_body(R, depth+1), mod(), mod())
        if k < 0.85:
            return "{%%%s for i in range(2) %s%%}%s%s%s{%%%s endfor %s%%}" % (mod(), mod(), txt(), ws_body(R, depth+1), txt(), mod(), mod())
        if k < 0.93:
            return "{%%%s set y = 1 %s%%}" % (mod(), mod())
        return "{%%%s raw %s%%}%s{{ x }}%s{%%%s endraw %s%%}" % (mod(), mod(), txt(), txt(), mod(), mod())
    return "".join(txt() + block(depth) for _ in range(R.randint(1, 3))) + txt()


# Outputs showing a Python object's repr (memory address), in any case or
# reversed, are not reproducible.
ADDRESS = re.compile(r"object|tcejbo", re.I)


def main():
    cases = []
    for kind, seed, count, make in [("expr", 11, 350, lambda R: "".join(stmt(R) for _ in range(R.randint(1, 3)))),
                                    ("ws", 12, 250, ws_body)]:
        R = random.Random(seed)
        for i in range(count):
            src = make(R)
            r = render(src, VARS)
            if ADDRESS.search(r.get("expected", "")):
                continue
            r.update({"id": f"{kind}{i}", "src": src})
            cases.append(r)
    json.dump({"generator": "chat/testdata/jinja2_random.py", "jinja2": jinja2.__version__, "vars": VARS, "cases": cases},
              sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
