"""otp.Table: storage types, access rules, ownership, names and thread safety."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import otp
from otp._behaviours._table import Access, Obj, TableType


def run(fn: Callable[[], Awaitable[object]]) -> object:
    async def main() -> object:
        return await fn()

    return otp.run(main)


async def spawn_table_owner(
    parent: otp.Pid, **options: object
) -> tuple[otp.Pid, otp.Ref, otp.Table]:
    """A monitored process that creates a table, sends it back, and waits for "stop"."""

    async def owner() -> None:
        otp.send(parent, otp.Table(**options))  # type: ignore[arg-type]
        await otp.receive(match=lambda m: m == "stop")

    pid, ref = otp.spawn_monitor(owner)
    table = await otp.receive(match=lambda m: isinstance(m, otp.Table))
    assert isinstance(table, otp.Table)
    return pid, ref, table


async def stop_and_wait(pid: otp.Pid, ref: otp.Ref) -> otp.Down:
    otp.send(pid, "stop")
    down = await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == ref)
    assert isinstance(down, otp.Down)
    return down


def in_thread(fn: Callable[[], object]) -> object:
    """Run `fn` in a plain thread (no current process) and return or raise its outcome."""
    outcome: list[tuple[bool, object]] = []

    def body() -> None:
        try:
            outcome.append((True, fn()))
        except Exception as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        assert isinstance(value, Exception)
        raise value
    return value


class TestCreate:
    def test_a_table_outside_a_process_raises_not_in_process(self) -> None:
        with pytest.raises(otp.NotInProcess, match="inside an otp process"):
            otp.Table()

    def test_an_unknown_type_or_access_raises_value_error(self) -> None:
        async def main() -> None:
            with pytest.raises(ValueError, match="type must be one of"):
                otp.Table(type="hash")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="access must be one of"):
                otp.Table(access="open")  # type: ignore[arg-type]

        run(main)

    def test_the_repr_shows_name_type_access_size_and_owner(self) -> None:
        async def main() -> None:
            t = otp.Table(name="cache", type="bag", access="public")
            t.insert([(1, "a"), (1, "b")])
            assert repr(t) == f"<Table 'cache' bag public, 2 objects, owner {otp.self()}>"
            assert (t.name, t.type, t.access, t.owner, t.heir) == (
                "cache",
                "bag",
                "public",
                otp.self(),
                None,
            )

        run(main)


class TestInsertAndLookup:
    def test_a_set_replaces_the_object_with_the_same_key(self) -> None:
        async def main() -> None:
            t = otp.Table()
            t.insert(("k", 1))
            t.insert(("k", 2, "extra"))
            assert t.lookup("k") == [("k", 2, "extra")]
            assert t.lookup("missing") == []
            assert len(t) == 1

        run(main)

    def test_a_list_inserts_every_object(self) -> None:
        async def main() -> None:
            t = otp.Table()
            t.insert([("a", 1), ("b", 2), ("a", 3)])
            assert sorted(t) == [("a", 3), ("b", 2)]

        run(main)

    def test_objects_must_be_non_empty_tuples_with_hashable_keys(self) -> None:
        async def main() -> None:
            t = otp.Table()
            with pytest.raises(TypeError, match="non-empty tuples"):
                t.insert([()])
            with pytest.raises(TypeError, match="a tuple object"):
                t.insert({"k": 1})  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="not hashable"):
                t.insert(([1], 2))
            with pytest.raises(TypeError, match="non-empty tuples"):
                t.insert([("ok", 1), "bad"])  # type: ignore[list-item]
            assert len(t) == 0  # a rejected list inserts nothing

        run(main)

    def test_insert_new_inserts_only_when_no_key_is_present(self) -> None:
        async def main() -> None:
            t = otp.Table()
            assert t.insert_new(("a", 1)) is True
            assert t.insert_new(("a", 2)) is False
            assert t.insert_new([("b", 1), ("a", 3)]) is False
            assert t.lookup("b") == []
            assert t.insert_new([("b", 1), ("c", 1)]) is True
            assert t.lookup("a") == [("a", 1)]
            assert len(t) == 3

        run(main)

    def test_membership_and_keys(self) -> None:
        async def main() -> None:
            t = otp.Table()
            t.insert([("a", 1), ("b", 2)])
            assert "a" in t and t.member("b") and "z" not in t
            assert sorted(t.keys()) == ["a", "b"]  # type: ignore[type-var]

        run(main)


class TestBags:
    def test_a_bag_keeps_distinct_objects_once(self) -> None:
        async def main() -> None:
            t = otp.Table(type="bag")
            t.insert([("k", 1), ("k", 2), ("k", 1)])
            assert t.lookup("k") == [("k", 1), ("k", 2)]
            assert len(t) == 2
            assert t.keys() == ["k"]

        run(main)

    def test_a_duplicate_bag_keeps_every_copy(self) -> None:
        async def main() -> None:
            t = otp.Table(type="duplicate_bag")
            t.insert([("k", 1), ("k", 2), ("k", 1)])
            assert t.lookup("k") == [("k", 1), ("k", 2), ("k", 1)]
            assert len(t) == 3
            t.delete_object(("k", 1))
            assert t.lookup("k") == [("k", 2)]
            assert len(t) == 1

        run(main)

    def test_insert_new_on_a_bag_checks_the_key(self) -> None:
        async def main() -> None:
            t = otp.Table(type="bag")
            assert t.insert_new(("k", 1))
            assert not t.insert_new(("k", 2))
            assert t.lookup("k") == [("k", 1)]

        run(main)


class TestDelete:
    def test_delete_removes_every_object_with_the_key(self) -> None:
        async def main() -> None:
            t = otp.Table(type="bag")
            t.insert([("a", 1), ("a", 2), ("b", 1)])
            t.delete("a")
            t.delete("missing")
            assert list(t) == [("b", 1)]
            assert len(t) == 1

        run(main)

    def test_delete_object_in_a_set_needs_an_equal_object(self) -> None:
        async def main() -> None:
            t = otp.Table()
            t.insert(("a", 1))
            t.delete_object(("a", 2))
            assert t.lookup("a") == [("a", 1)]
            t.delete_object(("a", 1))
            assert t.lookup("a") == []
            assert len(t) == 0

        run(main)

    def test_delete_all_objects_empties_the_table(self) -> None:
        async def main() -> None:
            t = otp.Table(type="ordered_set")
            t.insert([(1,), (2,)])
            t.delete_all_objects()
            assert (len(t), list(t), t.first()) == (0, [], None)
            t.insert((3,))
            assert list(t) == [(3,)]

        run(main)

    def test_take_returns_and_deletes(self) -> None:
        async def main() -> None:
            t = otp.Table(type="duplicate_bag")
            t.insert([("a", 1), ("a", 1)])
            assert t.take("a") == [("a", 1), ("a", 1)]
            assert t.take("a") == []
            assert len(t) == 0

        run(main)


class TestUpdateCounter:
    def test_it_adds_to_the_second_element_and_returns_the_new_value(self) -> None:
        async def main() -> None:
            t = otp.Table()
            t.insert(("hits", 10, "label"))
            assert t.update_counter("hits", 5) == 15
            assert t.update_counter("hits", -20) == -5
            assert t.lookup("hits") == [("hits", -5, "label")]

        run(main)

    def test_a_missing_key_uses_the_default_with_the_key_replaced(self) -> None:
        async def main() -> None:
            t = otp.Table(type="ordered_set")
            t.insert([(1, 0), (3, 0)])
            assert t.update_counter(2, 7, default=("ignored", 100, "x")) == 107
            assert list(t) == [(1, 0), (2, 107, "x"), (3, 0)]

        run(main)

    def test_a_missing_key_without_default_raises_key_error(self) -> None:
        async def main() -> None:
            t = otp.Table()
            with pytest.raises(KeyError, match="default="):
                t.update_counter("nope", 1)

        run(main)

    def test_a_non_int_counter_raises_type_error(self) -> None:
        async def main() -> None:
            t = otp.Table()
            t.insert([("s", "text"), ("short",), ("flag", True)])
            for key in ("s", "short", "flag"):
                with pytest.raises(TypeError, match="int counter"):
                    t.update_counter(key, 1)

        run(main)

    def test_a_bag_raises_table_error(self) -> None:
        async def main() -> None:
            t = otp.Table(type="bag")
            with pytest.raises(otp.TableError, match="set and ordered_set"):
                t.update_counter("k", 1, default=("k", 0))

        run(main)


class TestSelect:
    def test_select_returns_the_objects_the_predicate_accepts(self) -> None:
        async def main() -> None:
            t = otp.Table(type="ordered_set")
            t.insert([(i, i * i) for i in range(6)])
            assert t.select(lambda o: o[1] > 8) == [(3, 9), (4, 16), (5, 25)]  # type: ignore[operator]

        run(main)

    def test_the_predicate_may_use_the_table(self) -> None:
        async def main() -> None:
            t = otp.Table()
            t.insert([("a", "b"), ("b", "x"), ("c", "z")])
            assert t.select(lambda o: o[1] in t) == [("a", "b")]

        run(main)

    def test_select_delete_deletes_matches_and_counts_them(self) -> None:
        async def main() -> None:
            t = otp.Table(type="duplicate_bag")
            t.insert([("a", 1), ("a", 2), ("a", 2), ("b", 2)])
            assert t.select_delete(lambda o: o[1] == 2) == 3
            assert list(t) == [("a", 1)]
            assert len(t) == 1

        run(main)


class TestIteration:
    def test_iteration_yields_every_object_and_tolerates_writes(self) -> None:
        async def main() -> None:
            t = otp.Table(type="bag")
            t.insert([("a", 1), ("a", 2), ("b", 1)])
            seen = []
            for obj in t:
                t.delete(obj[0])
                seen.append(obj)
            assert sorted(seen) == [("a", 1), ("a", 2), ("b", 1)]
            assert len(t) == 0

        run(main)


class TestOrderedSet:
    def test_iteration_and_keys_follow_key_order(self) -> None:
        async def main() -> None:
            t = otp.Table(type="ordered_set")
            t.insert([("m",), ("a",), ("z",), ("c",)])
            assert list(t) == [("a",), ("c",), ("m",), ("z",)]
            assert t.keys() == ["a", "c", "m", "z"]
            t.delete("c")
            assert t.keys() == ["a", "m", "z"]

        run(main)

    def test_select_range_is_half_open_unless_told_otherwise(self) -> None:
        async def main() -> None:
            t = otp.Table(type="ordered_set")
            t.insert([(i, str(i)) for i in range(10)])
            assert [o[0] for o in t.select_range(3, 6)] == [3, 4, 5]
            assert [o[0] for o in t.select_range(3, 6, inclusive=(False, True))] == [4, 5, 6]
            assert [o[0] for o in t.select_range(None, 2)] == [0, 1]
            assert [o[0] for o in t.select_range(8)] == [8, 9]
            assert t.select_range(20, 30) == []

        run(main)

    def test_first_last_next_and_prev_walk_the_keys(self) -> None:
        async def main() -> None:
            t = otp.Table(type="ordered_set")
            assert (t.first(), t.last(), t.next(1), t.prev(1)) == (None, None, None, None)
            t.insert([(10,), (20,), (30,)])
            assert (t.first(), t.last()) == (10, 30)
            assert (t.next(10), t.next(15), t.next(30)) == (20, 20, None)
            assert (t.prev(30), t.prev(25), t.prev(10)) == (20, 20, None)

        run(main)

    def test_equal_numbers_are_one_key(self) -> None:
        async def main() -> None:
            t = otp.Table(type="ordered_set")
            t.insert([(1, "int"), (1.0, "float")])
            assert list(t) == [(1.0, "float")]
            t.delete(1.0)
            assert (len(t), t.keys()) == (0, [])

        run(main)

    def test_ordered_operations_on_other_types_raise_table_error(self) -> None:
        async def main() -> None:
            t = otp.Table()
            for op in (t.first, t.last, lambda: t.next(1), lambda: t.select_range(1, 2)):
                with pytest.raises(otp.TableError, match="type='ordered_set'"):
                    op()

        run(main)

    def test_incomparable_keys_raise_type_error_and_leave_the_table_intact(self) -> None:
        async def main() -> None:
            t = otp.Table(type="ordered_set")
            t.insert([(1, "a"), (2, "b")])
            with pytest.raises(TypeError, match="comparable"):
                t.insert(("x", "c"))
            assert (list(t), len(t)) == ([(1, "a"), (2, "b")], 2)

        run(main)


class TestAccess:
    @pytest.mark.parametrize(
        ("access", "others_read", "others_write"),
        [("protected", True, False), ("public", True, True), ("private", False, False)],
    )
    def test_other_processes_follow_the_access_rules(
        self, access: Access, others_read: bool, others_write: bool
    ) -> None:
        async def main() -> list[object]:
            t = otp.Table(access=access)
            t.insert(("k", 1))

            async def other(parent: otp.Pid) -> None:
                outcome: list[object] = []
                for op in (lambda: t.lookup("k"), lambda: t.insert(("k", 2))):
                    try:
                        op()
                        outcome.append(True)
                    except otp.TableError as exc:
                        outcome.append(str(exc))
                otp.send(parent, outcome)

            otp.spawn(other, otp.self())
            result = await otp.receive()
            assert isinstance(result, list)
            return result

        outcome = run(main)
        assert isinstance(outcome, list)
        read, write = outcome
        assert (read is True) == others_read
        assert (write is True) == others_write
        if not others_read:
            assert "private" in str(read)
        if not others_write:
            assert f"is {access}: only its owner may write" in str(write)
            assert "access='public'" in str(write)

    def test_threads_read_protected_tables_and_write_public_ones(self) -> None:
        async def main() -> None:
            protected, public = otp.Table(), otp.Table(access="public")
            protected.insert(("k", 1))
            assert in_thread(lambda: protected.lookup("k")) == [("k", 1)]
            with pytest.raises(otp.TableError, match="only its owner may write"):
                in_thread(lambda: protected.insert(("k", 2)))
            in_thread(lambda: public.insert(("k", 2)))
            assert public.lookup("k") == [("k", 2)]

        run(main)

    def test_a_deleted_table_raises_table_error_saying_why(self) -> None:
        async def main() -> None:
            t = otp.Table(name="gone")
            t.delete_table()
            assert t.deleted and t.owner is None
            assert repr(t) == "<Table 'gone' deleted>"
            for op in (lambda: t.lookup(1), lambda: t.insert((1,)), lambda: len(t)):
                with pytest.raises(otp.TableError, match="no longer exists: it was deleted by"):
                    op()
            with pytest.raises(otp.TableError, match="no longer exists"):
                t.delete_table()

        run(main)

    def test_only_writers_may_delete_a_table(self) -> None:
        async def main() -> None:
            pid, ref, t = await spawn_table_owner(otp.self())
            with pytest.raises(otp.TableError, match="only its owner may write"):
                t.delete_table()
            _, _, public = await spawn_table_owner(otp.self(), access="public")
            public.delete_table()
            assert public.deleted and not t.deleted
            await stop_and_wait(pid, ref)

        run(main)


class TestOwnership:
    def test_the_table_is_deleted_when_its_owner_exits(self) -> None:
        async def main() -> None:
            pid, ref, t = await spawn_table_owner(otp.self(), name="mine")
            assert t.owner is pid and t.lookup("x") == []
            down = await stop_and_wait(pid, ref)
            assert down.reason == "normal"
            assert t.deleted
            with pytest.raises(otp.TableError, match=r"its owner .* exited with 'normal'"):
                t.lookup("x")
            with pytest.raises(otp.TableError, match="no table is named 'mine'"):
                otp.Table.named("mine")

        run(main)

    def test_a_crashing_owner_deletes_its_table_too(self) -> None:
        async def main() -> None:
            async def owner(parent: otp.Pid) -> None:
                otp.send(parent, otp.Table())
                await otp.receive()
                raise otp.Exit("boom")

            pid, _ = otp.spawn_monitor(owner, otp.self())
            t = await otp.receive()
            assert isinstance(t, otp.Table)
            otp.send(pid, "go")
            await otp.receive(match=lambda m: isinstance(m, otp.Down))
            assert t.deleted

        run(main)

    def test_the_heir_inherits_the_table_and_is_told(self) -> None:
        async def main() -> None:
            me = otp.self()
            pid, ref, t = await spawn_table_owner(me, heir=me, heir_data="my data")
            assert t.heir is me
            await stop_and_wait(pid, ref)
            msg = await otp.receive()
            assert msg == ("ETS-TRANSFER", t, pid, "my data")
            assert t.owner is me and not t.deleted
            t.insert(("mine", 1))  # the heir owns it: it may write
            assert t.lookup("mine") == [("mine", 1)]

        run(main)

    def test_a_dead_heir_inherits_nothing(self) -> None:
        async def main() -> None:
            heir, heir_ref = otp.spawn_monitor(otp.receive)
            pid, ref, t = await spawn_table_owner(otp.self(), heir=heir)
            otp.exit(heir, "kill")
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == heir_ref)
            await stop_and_wait(pid, ref)
            assert t.deleted

        run(main)

    def test_the_table_dies_with_the_heir_once_it_inherited(self) -> None:
        async def main() -> None:
            async def heir(parent: otp.Pid) -> None:
                otp.send(parent, await otp.receive())  # forward the transfer
                await otp.receive()

            heir_pid, heir_ref = otp.spawn_monitor(heir, otp.self())
            pid, ref, t = await spawn_table_owner(otp.self(), heir=heir_pid)
            await stop_and_wait(pid, ref)
            transfer = await otp.receive(match=lambda m: isinstance(m, tuple))
            assert transfer == ("ETS-TRANSFER", t, pid, None)
            assert t.owner is heir_pid
            await stop_and_wait(heir_pid, heir_ref)
            assert t.deleted

        run(main)

    def test_give_away_moves_ownership_and_sends_the_gift(self) -> None:
        async def main() -> None:
            me = otp.self()
            pid, ref, t = await spawn_table_owner(me, name="gift")

            # Only the owner may give the table away.
            with pytest.raises(otp.TableError, match="only the owner"):
                t.give_away(me, "x")

            async def owner_gives(parent: otp.Pid) -> None:
                table = otp.Table(name="given")
                table.insert(("k", 1))
                table.give_away(parent, "present")
                otp.send(parent, "done")

            giver_pid, giver_ref = otp.spawn_monitor(owner_gives, me)
            msg = await otp.receive(match=lambda m: isinstance(m, tuple))
            given = otp.Table.named("given")
            assert msg == ("ETS-TRANSFER", given, giver_pid, "present")
            await otp.receive(match=lambda m: isinstance(m, otp.Down) and m.ref == giver_ref)
            assert given.owner is me and given.lookup("k") == [("k", 1)]
            given.insert(("k", 2))
            with pytest.raises(ValueError, match="already owns"):
                given.give_away(me)
            await stop_and_wait(pid, ref)

        run(main)

    def test_set_heir_is_for_the_owner_and_can_be_cleared(self) -> None:
        async def main() -> None:
            me = otp.self()
            t = otp.Table()
            heir = otp.spawn(otp.receive)
            t.set_heir(heir, "data")
            assert t.heir is heir
            t.set_heir(None)
            assert t.heir is None
            with pytest.raises(ValueError, match="not a live process"):
                t.set_heir("someone")  # type: ignore[arg-type,unused-ignore]
            _, _, other = await spawn_table_owner(me)
            with pytest.raises(otp.TableError, match="only the owner"):
                other.set_heir(me)

        run(main)


class TestNamed:
    def test_named_finds_the_table_from_any_process(self) -> None:
        async def main() -> None:
            t = otp.Table(name="shared")
            t.insert(("k", 1))

            async def reader(parent: otp.Pid) -> None:
                otp.send(parent, otp.Table.named("shared").lookup("k"))

            otp.spawn(reader, otp.self())
            assert await otp.receive() == [("k", 1)]
            assert otp.Table.named("shared") is t

        run(main)

    def test_a_taken_name_raises_already_registered_with_the_owner(self) -> None:
        async def main() -> None:
            otp.Table(name="taken")
            with pytest.raises(otp.AlreadyRegistered, match=r"Table\.named") as info:
                otp.Table(name="taken")
            assert info.value.pid is otp.self()

        run(main)

    def test_a_name_is_free_again_once_its_table_is_deleted(self) -> None:
        async def main() -> None:
            pid, ref, first = await spawn_table_owner(otp.self(), name="reused")
            await stop_and_wait(pid, ref)
            second = otp.Table(name="reused")
            assert otp.Table.named("reused") is second is not first

        run(main)

    def test_names_belong_to_one_node(self) -> None:
        async def make() -> None:
            otp.Table(name="per-node")

        async def find() -> None:
            with pytest.raises(otp.TableError):
                otp.Table.named("per-node")

        run(make)
        run(find)


class TestThreadSafety:
    def test_concurrent_inserts_and_counters_from_threads_add_up(self) -> None:
        async def main() -> None:
            t = otp.Table(access="public")
            per_thread, threads = 500, 8

            def work(n: int) -> None:
                for i in range(per_thread):
                    t.insert((("thread", n, i), i))
                    t.update_counter("total", 1, default=("total", 0))

            workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            assert len(t) == per_thread * threads + 1
            assert t.lookup("total") == [("total", per_thread * threads)]

        run(main)


# -- a model of each table type, for property-based checks -----------------------

KINDS: tuple[TableType, ...] = ("set", "ordered_set", "bag", "duplicate_bag")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 5), st.integers(0, 3)),
        st.tuples(st.just("insert_new"), st.integers(0, 5), st.integers(0, 3)),
        st.tuples(st.just("delete"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("delete_object"), st.integers(0, 5), st.integers(0, 3)),
    ),
    max_size=40,
)


def model_apply(kind: TableType, model: dict[int, list[Obj]], op: tuple[str, int, int]) -> object:
    name, key, value = op
    obj: Obj = (key, value)
    objs = model.setdefault(key, [])
    result: object = None
    if name == "insert" or (name == "insert_new" and not objs):
        if kind in ("set", "ordered_set"):
            objs[:] = [obj]
        elif kind == "duplicate_bag" or obj not in objs:
            objs.append(obj)
        result = True if name == "insert_new" else None
    elif name == "insert_new":
        result = False
    elif name == "delete":
        objs.clear()
    else:
        objs[:] = [o for o in objs if o != obj]
    if not objs:
        del model[key]
    return result


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=80, deadline=None)
@given(steps=ops)
def test_every_table_type_behaves_like_its_model(
    kind: TableType, steps: list[tuple[str, int, int]]
) -> None:
    async def main() -> None:
        t = otp.Table(type=kind)
        model: dict[int, list[Obj]] = {}
        for step in steps:
            name, key, value = step
            result = getattr(t, name)(key if name == "delete" else (key, value))
            assert result == model_apply(kind, model, step), step
        for key in range(6):
            assert t.lookup(key) == model.get(key, [])
        assert len(t) == sum(len(objs) for objs in model.values())
        expected = [o for k in sorted(model) for o in model[k]]
        if kind == "ordered_set":
            assert list(t) == expected
            assert t.keys() == sorted(model)
        else:
            assert sorted(t) == sorted(expected)
            assert sorted(t.keys()) == sorted(model)  # type: ignore[type-var]

    run(main)
