# An Elixir client of the Python model server (examples/elixir_interop/model.py).
#
#   elixir examples/elixir_interop/client.exs     # with model.py running
#
# Nothing here knows the server is Python: it is the global name :model,
# called, cast to and monitored as any GenServer of the cluster.

{:ok, _} = Node.start(:"elixir@127.0.0.1", :longnames)
Node.set_cookie(:"elixir-interop-example")
py = :"py@127.0.0.1"

# The Python node is visible: it joins :global, and sync waits for it only
# as long as for any node.
true = Node.connect(py)
:ok = :global.sync()
model = {:global, :model}
pid = :global.whereis_name(:model)
IO.puts("global: :model runs on #{node(pid)}")
ref = Process.monitor(pid)

# Any Python function, by module and name, as :erpc calls an Elixir one.
IO.puts("erpc: math.hypot(3.0, 4.0) on Python -> #{:erpc.call(py, :math, :hypot, [3.0, 4.0])}")

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
  {:DOWN, ^ref, :process, _pid, reason} ->
    IO.puts("monitor: model on #{node(pid)} went down (#{inspect(reason)})")
after
  5_000 -> raise "no :DOWN message from the model's monitor within 5 s"
end
