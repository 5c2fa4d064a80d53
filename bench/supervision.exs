# The Elixir side of bench/supervision.py: the same measures, printed as JSON.
# Usage: elixir bench/supervision.exs WORKERS RESTARTS

defmodule Bench.Worker do
  use GenServer
  def start_link(opts), do: GenServer.start_link(__MODULE__, nil, opts)
  @impl true
  def init(state), do: {:ok, state}
  @impl true
  def handle_call(request, _from, state), do: {:reply, request, state}
end

defmodule Bench do
  def restart_latency(restarts) do
    spec = %{id: :worker, start: {Bench.Worker, :start_link, [[name: :worker]]}}
    {:ok, sup} = Supervisor.start_link([spec], strategy: :one_for_one,
                                       max_restarts: restarts * 2, max_seconds: 3600)
    samples =
      for _ <- 1..restarts do
        pid = Process.whereis(:worker)
        t0 = System.monotonic_time(:nanosecond)
        ref = Process.monitor(pid)
        Process.exit(pid, :kill)
        receive do
          {:DOWN, ^ref, _, _, _} -> :ok
        end
        new = replacement(sup, pid)
        :ping = GenServer.call(new, :ping)
        System.monotonic_time(:nanosecond) - t0
      end
    Supervisor.stop(sup)
    median(samples) / 1000
  end

  def tree(workers) do
    specs = for i <- 1..workers, do: %{id: i, start: {Bench.Worker, :start_link, [[]]}}
    t0 = System.monotonic_time(:nanosecond)
    {:ok, sup} = Supervisor.start_link(specs, strategy: :one_for_one)
    t1 = System.monotonic_time(:nanosecond)
    Supervisor.stop(sup)
    t2 = System.monotonic_time(:nanosecond)
    {(t1 - t0) / 1.0e9, (t2 - t1) / 1.0e9}
  end

  # Signals from different processes are not ordered, so ask until the
  # supervisor has handled the exit.
  def replacement(sup, old) do
    case Supervisor.which_children(sup) do
      [{_, new, _, _}] when is_pid(new) and new != old -> new
      _ -> replacement(sup, old)
    end
  end

  def median(list) do
    sorted = Enum.sort(list)
    Enum.at(sorted, div(length(sorted), 2))
  end
end

[workers, restarts] = Enum.map(System.argv(), &String.to_integer/1)
Process.flag(:trap_exit, true)
latency = Bench.restart_latency(restarts)
runs = for _ <- 1..3, do: Bench.tree(workers)
starts = Enum.map(runs, &elem(&1, 0))
stops = Enum.map(runs, &elem(&1, 1))
IO.puts(~s({"restart_us": #{latency}, "start_s": #{Bench.median(starts)}, "stop_s": #{Bench.median(stops)}}))
