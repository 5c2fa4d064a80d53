# The Elixir side of bench/names.py: Registry rates for the same workload.
# Usage: elixir bench/names.exs N

defmodule Bench do
  def rate(count, fun) do
    t0 = System.monotonic_time(:nanosecond)
    fun.()
    count / ((System.monotonic_time(:nanosecond) - t0) / 1.0e9)
  end
end

[n] = Enum.map(System.argv(), &String.to_integer/1)
{:ok, _} = Registry.start_link(keys: :unique, name: RegU)
{:ok, _} = Registry.start_link(keys: :duplicate, name: RegD)
register = Bench.rate(n, fn -> for i <- 1..n, do: {:ok, _} = Registry.register(RegU, i, i) end)
lookup = Bench.rate(n, fn -> for i <- 1..n, do: Registry.lookup(RegU, i) end)
for _ <- 1..100, do: Registry.register(RegD, :topic, nil)
rounds = max(1, div(n, 100))
counter = :counters.new(1, [])
dispatch =
  Bench.rate(rounds * 100, fn ->
    for _ <- 1..rounds do
      Registry.dispatch(RegD, :topic, fn entries -> :counters.add(counter, 1, length(entries)) end)
    end
  end)
IO.puts(~s({"register": #{register}, "lookup": #{lookup}, "dispatch": #{dispatch}}))
