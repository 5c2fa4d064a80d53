"""Regenerate `term_vectors.json`: reference bytes from a real Erlang node.

Run by hand when the table changes (needs `erl` and `erlc` on the PATH):

    python tests/distribution/make_term_vectors.py

Each vector records an Erlang expression, the Python value the codec must
decode it to (a Python expression, evaluated by the tests), and the bytes of
`term_to_binary` with `{minor_version, 2}` (UTF-8 atoms: what distribution
sends), with the default options (Latin-1 `ATOM_EXT` atoms on OTP 25), with
`{minor_version, 0}` (floats as text) and with `[compressed]`. "Crafted"
vectors hold legacy or unusual encodings written by hand; Erlang decodes
them and re-encodes the result, which proves the crafted bytes valid.

Identifiers (pids, refs, ports, funs) are made by the node itself, which
also writes their expected Python value (`py/1` below).
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import tempfile

HERE = pathlib.Path(__file__).parent

# (name, Erlang expression, expected Python value, encode(value) gives the v2 bytes)
STATIC: list[tuple[str, str, str, bool]] = [
    ("int_zero", "0", "0", True),
    ("int_small", "255", "255", True),
    ("int_256", "256", "256", True),
    ("int_minus_one", "-1", "-1", True),
    ("int_max32", "2147483647", "2147483647", True),
    ("int_min32", "-2147483648", "-2147483648", True),
    ("big_above_32", "2147483648", "2147483648", True),
    ("big_below_32", "-2147483649", "-2147483649", True),
    ("big_u64", "16#ffffffffffffffff", "2**64 - 1", True),
    ("big_negative_64", "-(1 bsl 64)", "-(2**64)", True),
    ("small_big_max", "(1 bsl 2040) - 1", "2**2040 - 1", True),
    ("large_big_min", "1 bsl 2040", "2**2040", True),
    ("large_big_negative", "-(1 bsl 3000) + 7", "-(2**3000) + 7", True),
    ("float_zero", "0.0", "0.0", True),
    ("float_one_half", "1.5", "1.5", True),
    ("float_negative", "-2.25", "-2.25", True),
    ("float_pi", "3.141592653589793", "3.141592653589793", True),
    ("float_huge", "1.0e300", "1e300", True),
    ("float_max", "1.7976931348623157e308", "1.7976931348623157e308", True),
    ("float_denormal", "5.0e-324", "5e-324", True),
    ("atom_ok", "ok", "Atom('ok')", True),
    ("atom_empty", "''", "Atom('')", True),
    ("atom_spaces", "'hello world'", "Atom('hello world')", True),
    ("atom_latin1", "'café'", "Atom('café')", True),
    ("atom_unicode", "'日本'", "Atom('日本')", True),
    ("atom_long_utf8", "list_to_atom(lists:duplicate(255, $é))", "Atom('é' * 255)", True),
    ("atom_true", "true", "True", True),
    ("atom_false", "false", "False", True),
    ("atom_nil", "nil", "None", True),
    ("atom_undefined", "undefined", "Atom('undefined')", True),
    ("atom_elixir_module", "'Elixir.GenServer'", "Atom('Elixir.GenServer')", True),
    ("tuple_empty", "{}", "()", True),
    ("tuple_one", "{1}", "(1,)", True),
    ("tuple_pair", '{a, <<"b">>}', "(Atom('a'), 'b')", True),
    ("tuple_large", "list_to_tuple(lists:seq(1, 300))", "tuple(range(1, 301))", True),
    ("nil", "[]", "[]", True),
    ("string_bytes", "[1, 2, 3]", "[1, 2, 3]", True),
    ("string_text", '"hello"', "[104, 101, 108, 108, 111]", True),
    ("list_big_int", "[256, 1]", "[256, 1]", True),
    ("list_atoms", "[a, b]", "[Atom('a'), Atom('b')]", True),
    ("list_unicode_chars", '"日本"', "[26085, 26412]", True),
    ("list_nested", "[[], [[]]]", "[[], [[]]]", True),
    ("list_improper", "[1 | 2]", "ImproperList([1], 2)", True),
    ("list_improper_long", "[a, b | c]", "ImproperList([Atom('a'), Atom('b')], Atom('c'))", True),
    ("list_improper_binary_tail", '[1 | <<"t">>]', "ImproperList([1], 't')", True),
    ("binary_empty", "<<>>", "''", True),
    ("binary_text", '<<"hello">>', "'hello'", True),
    ("binary_utf8", '<<"héllo"/utf8>>', "'héllo'", True),
    ("binary_invalid_utf8", "<<255, 0, 1>>", "b'\\xff\\x00\\x01'", True),
    ("binary_latin1", '<<"caf", 233>>', "b'caf\\xe9'", True),
    ("binary_control_bytes", "<<1, 2, 3>>", "'\\x01\\x02\\x03'", True),
    ("binary_big", 'binary:copy(<<"0123456789">>, 1000)', "'0123456789' * 1000", True),
    ("bits_three", "<<1:3>>", "BitBinary(b'\\x20', 3)", True),
    ("bits_trailing", "<<1, 2, 3:4>>", "BitBinary(b'\\x01\\x02\\x30', 4)", True),
    ("map_empty", "#{}", "{}", True),
    ("map_one", "#{a => 1}", "{Atom('a'): 1}", True),
    ("map_sorted", "#{b => 2, a => 1, 1 => x}", "{1: Atom('x'), Atom('a'): 1, Atom('b'): 2}", True),
    (
        "map_binary_keys",
        '#{<<"name">> => <<"ann">>, <<"age">> => 41}',
        "{'age': 41, 'name': 'ann'}",
        True,
    ),
    ("map_list_key", '#{"key" => 1}', "{FrozenList([107, 101, 121]): 1}", True),
    ("map_tuple_key", "#{{1, 2} => [x]}", "{(1, 2): [Atom('x')]}", True),
    ("map_map_key", "#{#{a => 1} => b}", "{FrozenMap({Atom('a'): 1}): Atom('b')}", True),
    ("map_nested", "#{a => #{b => [1.5]}}", "{Atom('a'): {Atom('b'): [1.5]}}", True),
    (
        "map_large",
        "maps:from_list([{I, I * I} || I <- lists:seq(1, 40)])",
        "{i: i * i for i in range(1, 41)}",
        False,  # 40 keys: a hash map, whose wire order is not Python's
    ),
    (
        "map_colliding_keys",
        '#{a => 1, <<"a">> => 2}',
        "StrictMap([(Atom('a'), 1), ('a', 2)])",
        True,
    ),
    (
        "map_int_float_keys",
        "#{1 => a, 1.0 => b}",
        "StrictMap([(1, Atom('a')), (1.0, Atom('b'))])",
        True,
    ),
    (
        "map_true_one_keys",
        "#{true => x, 1 => y}",
        "StrictMap([(1, Atom('y')), (True, Atom('x'))])",
        True,
    ),
    (
        "map_nested_colliding_keys",
        "#{{1} => a, {1.0} => b, [0] => c, [0.0] => d}",
        "StrictMap([((1,), Atom('a')), ((1.0,), Atom('b')), (FrozenList([0]), Atom('c')),"
        " (FrozenList([0.0]), Atom('d'))])",
        True,
    ),
    ("export_fun", "fun lists:map/2", "Export('lists', 'map', 2)", True),
    (
        "elixir_struct",
        "#{'__struct__' => 'Elixir.Range', first => 1, last => 10, step => 1}",
        "{Atom('__struct__'): Atom('Elixir.Range'), Atom('first'): 1, Atom('last'): 10,"
        " Atom('step'): 1}",
        True,
    ),
    (
        "nested_message",
        '{ok, [{a, 1}, {b, <<"x">>}], #{k => [1.5, nil]}, true}',
        "(Atom('ok'), [(Atom('a'), 1), (Atom('b'), 'x')], {Atom('k'): [1.5, None]}, True)",
        True,
    ),
    (
        "gen_cast",
        "{'$gen_cast', {add, 1}}",
        "(Atom('$gen_cast'), (Atom('add'), 1))",
        True,
    ),
    (
        "compressible",
        "list_to_tuple(lists:duplicate(500, hello))",
        "(Atom('hello'),) * 500",
        True,
    ),
]

# Legacy or unusual encodings: (name, bytes after the 131, expected Python value).
CRAFTED: list[tuple[str, list[int], str]] = [
    ("crafted_small_atom", [115, 2, *b"ok"], "Atom('ok')"),
    ("crafted_small_atom_latin1", [115, 4, *b"caf", 233], "Atom('café')"),
    ("crafted_atom_latin1_true", [100, 0, 4, *b"true"], "True"),
    (
        "crafted_pid_ext",
        [103, 100, 0, 3, *b"a@b", 0, 0, 0, 5, 0, 0, 0, 2, 1],
        "pid('a@b', 5, 2, 1)",
    ),
    (
        "crafted_new_pid_remote",
        [88, 119, 3, *b"a@b", 0, 0, 0, 7, 0, 0, 0, 0, 0x6B, 6, 0x2B, 0xE9],
        "pid('a@b', 7, 0, 0x6B062BE9)",
    ),
    (
        "crafted_new_reference",
        [114, 0, 3, 100, 0, 3, *b"a@b", 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3],
        "ref('a@b', 1, (1, 2, 3))",
    ),
    ("crafted_reference", [101, 100, 0, 3, *b"a@b", 0, 0, 0, 7, 2], "ref('a@b', 2, (7,))"),
    ("crafted_port_ext", [102, 100, 0, 3, *b"a@b", 0, 0, 0, 7, 1], "port('a@b', 7, 1)"),
    (
        "crafted_new_port",
        [89, 119, 3, *b"a@b", 0, 0, 0, 9, 0, 0, 0, 4],
        "port('a@b', 9, 4)",
    ),
    (
        "crafted_v4_port",
        [120, 119, 3, *b"a@b", 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9],
        "port('a@b', 2**32, 9)",
    ),
    (
        "crafted_list_with_list_tail",
        [108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106],
        "[1, 2]",
    ),
    ("crafted_float_ext", [99, *b"1.50000000000000000000e+00", *([0] * 5)], "1.5"),
]

# Identifiers made by the node; the Erlang side writes their Python value.
DYNAMIC = [
    ("pid_self", "self()"),
    ("ref_make_ref", "make_ref()"),
    ("ref_alias", "alias()"),
    ("port_first", "hd(erlang:ports())"),
    ("fun_local", "fun(X) -> X + 1 end"),
    ("fun_closure", "make_adder(5)"),
    ("fun_closure_pid", "begin Self = self(), fun() -> Self end end"),
    (
        "gen_call_alias",
        "{'$gen_call', {self(), [alias | alias()]}, {predict, [1.0, 2.0, 3.0]}}",
    ),
    ("gen_call_ref", "{'$gen_call', {self(), make_ref()}, {echo, <<\"hello\">>}}"),
]

MODULE = r"""
-module(term_vectors).
-export([main/0]).

make_adder(N) -> fun(X) -> X + N end.

hex(B) -> [io_lib:format("~2.16.0b", [X]) || <<X>> <= B].

emit(Name, T, Py) ->
    io:format("~s\t~s\t~s\t~s\t~s\t~s~n", [
        Name, Py,
        hex(term_to_binary(T, [{minor_version, 2}])),
        hex(term_to_binary(T)),
        hex(term_to_binary(T, [{minor_version, 0}])),
        hex(term_to_binary(T, [compressed]))]).

creation() -> erlang:system_info(creation).

nums(Prefix, T, ToList) ->
    S = ToList(T),
    Inner = lists:sublist(S, length(Prefix) + 1, length(S) - length(Prefix) - 1),
    [list_to_integer(X) || X <- string:split(Inner, ".", all)].

py(T) when is_pid(T) ->
    [0, Id, Serial] = nums("<", T, fun erlang:pid_to_list/1),
    io_lib:format("pid('~s', ~b, ~b, ~b)", [node(T), Id, Serial, creation()]);
py(T) when is_reference(T) ->
    [0 | Words] = nums("#Ref<", T, fun erlang:ref_to_list/1),
    io_lib:format("ref('~s', ~b, ~w)", [node(T), creation(), lists:reverse(Words)]);
py(T) when is_port(T) ->
    [0, Id] = nums("#Port<", T, fun erlang:port_to_list/1),
    io_lib:format("port('~s', ~b, ~b)", [node(T), Id, creation()]);
py(T) when is_function(T) ->
    {module, M} = erlang:fun_info(T, module),
    {arity, A} = erlang:fun_info(T, arity),
    io_lib:format("fun('~s', ~b)", [M, A]);
py(T) when is_atom(T) -> io_lib:format("Atom('~s')", [T]);
py(T) when is_integer(T) -> integer_to_list(T);
py(T) when is_float(T) -> float_to_list(T, [short]);
py(T) when is_binary(T) -> io_lib:format("'~s'", [T]);
py([H | T]) when is_list(T) -> ["[", lists:join(", ", [py(X) || X <- [H | T]]), "]"];
py([H | T]) -> ["ImproperList([", py(H), "], ", py(T), ")"];
py(T) when is_tuple(T) ->
    ["(", [[py(X), ", "] || X <- tuple_to_list(T)], ")"].

main() ->
%%ROWS%%
    ok.
"""


def erlang_binary(data: list[int]) -> str:
    return "<<" + ",".join(str(b) for b in data) + ">>"


def main() -> None:
    rows = []
    for name, source, _py, _exact in STATIC:
        rows.append(f'    emit("{name}", {source}, ""),')
    for name, data, _py in CRAFTED:
        rows.append(f'    emit("{name}", binary_to_term({erlang_binary([131, *data])}), ""),')
    for name, source in DYNAMIC:
        rows.append(f'    T_{name} = {source},\n    emit("{name}", T_{name}, py(T_{name})),')
    module = MODULE.replace("%%ROWS%%", "\n".join(rows))
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / "term_vectors.erl").write_text(module, encoding="utf-8")
        subprocess.run(["erlc", "term_vectors.erl"], cwd=tmp, check=True)
        out = subprocess.run(
            [
                *("erl", "-noshell", "-name", "termvec@127.0.0.1", "-setcookie", "termvec"),
                *("-pa", tmp, "-eval", "term_vectors:main(), halt()."),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    produced: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        name, py, v2, v1, v0, compressed = line.split("\t")
        produced[name] = {"python": py, "v2": v2, "v1": v1, "v0": v0, "compressed": compressed}
    vectors: list[dict[str, object]] = []
    for name, source, py, exact in STATIC:
        vectors.append({"name": name, "erlang": source, "python": py, "exact": exact})
    for name, data, py in CRAFTED:
        crafted = [131, *data]
        vectors.append(
            {
                "name": name,
                "erlang": f"binary_to_term({erlang_binary(crafted)})",
                "python": py,
                "exact": True,
                "crafted": bytes(crafted).hex(),
            }
        )
    for name, source in DYNAMIC:
        # A fun cannot be built from Python, only echoed: no exact encode for it.
        exact = not name.startswith("fun_")
        vectors.append({"name": name, "erlang": source, "python": "", "exact": exact})
    for vector in vectors:
        row = produced[str(vector["name"])]
        vector["python"] = vector["python"] or row["python"]
        vector.update(v2=row["v2"], v1=row["v1"], v0=row["v0"], compressed=row["compressed"])
    text = json.dumps(vectors, indent=1, ensure_ascii=False) + "\n"
    (HERE / "term_vectors.json").write_text(text, encoding="utf-8")
    print(f"wrote {len(vectors)} vectors")


if __name__ == "__main__":
    main()
