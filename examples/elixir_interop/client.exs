# An Elixir client of the Python model server (examples/elixir_interop/model.py).
#
#   elixir examples/elixir_interop/client.exs     # with model.py running
#
# Nothing here knows the server is Python: it is {:model, :"py@127.0.0.1"},
# called, cast to and monitored as any GenServer on another node.

{:ok, _} = Node.start(:"elixir@127.0.0.1", :longnames)
Node.set_cookie(:"elixir-interop-example")

model = {:model, :"py@127.0.0.1"}
ref = Process.monitor(model)

for xs <- [[1.0, 2.0], [3.0, -1.0], [0, 4]] do
  {:ok, y} = GenServer.call(model, {:predict, xs})
  IO.puts("predict #{inspect(xs)} -> #{y}")
end

{:error, message} = GenServer.call(model, {:predict, [1.0]})
IO.puts("predict [1.0] -> error: #{message}")

# Casts return at once; the call after them is answered after they are handled.
for _ <- 1..3, do: GenServer.cast(model, {:learn, [1.0, 2.0], 3.0})
{:ok, y} = GenServer.call(model, {:predict, [1.0, 2.0]})
IO.puts("after 3 learning steps towards 3.0: predict [1.0, 2.0] -> #{y}")
IO.puts("stats: #{inspect(GenServer.call(model, :stats))}")

# The model stops when asked (its reply comes first, then it exits normally).
:ok = GenServer.call(model, :stop)

receive do
  {:DOWN, ^ref, :process, {:model, node}, reason} ->
    IO.puts("monitor: model on #{node} went down (#{inspect(reason)})")
after
  5_000 -> raise "no :DOWN message from the model's monitor within 5 s"
end
